# The image a Flyte task runs in: flytelite installed from this source tree, no entrypoint baked in
# (the task's container command is `flytelite execute ...`, rendered by the Flyte backend).
#   docker build -t flytelite .                          # CPU-only, no torch
#   docker build --build-arg TORCH_VERSION=2.13.0 -t flytelite-torch .
#   docker build --build-arg EXTRAS=serve -t flytelite-serve .      # for `flytelite serve` (deploy/)
# BASE_IMAGE: any image with Python 3.11 under /usr/local (python, pip on PATH) and useradd; the
# image test builds on one made from Debian's packages, as no registry is reachable there.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG TORCH_VERSION=""
ARG EXTRAS=""
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 flyte

COPY pyproject.toml README.md /tmp/flytelite-src/
COPY src /tmp/flytelite-src/src

# torch only when asked for, pinned and from the CPU index, before the package's torch extra. The source
# (and the build folder pip leaves in it) goes once installed.
RUN if [ -n "${TORCH_VERSION}" ]; then \
        pip install --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}" \
        && pip install "/tmp/flytelite-src[torch${EXTRAS:+,${EXTRAS}}]"; \
    else \
        pip install "/tmp/flytelite-src${EXTRAS:+[${EXTRAS}]}"; \
    fi \
    && python -m compileall -q /usr/local/lib/python3.11/site-packages/flytelite \
    && rm -rf /tmp/flytelite-src

USER 1000
WORKDIR /home/flyte
