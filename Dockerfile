# The image a Flyte task runs in: flytelite installed from this source tree, no entrypoint baked in
# (the task's container command is `flytelite execute ...`, rendered by the Flyte backend).
#   docker build -t flytelite .                          # CPU-only, no torch
#   docker build --build-arg TORCH_VERSION=2.13.0 -t flytelite-torch .
#   docker build --build-arg EXTRAS=serve -t flytelite-serve .      # for `flytelite serve` (deploy/)
FROM python:3.11-slim

ARG TORCH_VERSION=""
ARG EXTRAS=""
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/flytelite
COPY pyproject.toml README.md ./
COPY src ./src

# torch only when asked for, pinned and from the CPU index, before the package's torch extra.
RUN if [ -n "${TORCH_VERSION}" ]; then \
        pip install --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}" \
        && pip install "/opt/flytelite[torch${EXTRAS:+,${EXTRAS}}]"; \
    else \
        pip install "/opt/flytelite${EXTRAS:+[${EXTRAS}]}"; \
    fi \
    && python -m compileall -q /usr/local/lib/python3.11/site-packages/flytelite

RUN useradd --create-home --uid 1000 flyte
USER 1000
WORKDIR /home/flyte
