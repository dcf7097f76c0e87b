# The peer image for benchmarks/image.py: flytekit installed the usual way on the same base as ours.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 flyte \
    && pip install flytekit==1.16.31

USER 1000
WORKDIR /home/flyte
