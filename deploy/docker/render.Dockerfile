# syntax=docker/dockerfile:1
# Render server: CreatiLayout (SiamLayout on Stable Diffusion 3) on a CUDA GPU, with the draft
# engine as its CPU fallback.
#
# Build from the repository root:
#   docker build -f deploy/docker/render.Dockerfile -t marquee/render:0.1.0 .
#
# The weights are not in the image: SD3-Medium is gated and under the Stability AI Community
# Licence, so each deployment downloads them with its own HF_TOKEN (after accepting the licence)
# into the Hugging Face cache volume (HF_HOME). See docs/deploy.md.
#
# Python 3.11 is not packaged for Ubuntu 24.04, so the build stage installs a standalone CPython
# 3.11 with uv and both stages keep it at the same path (/opt/python), with the venv at /opt/venv.

FROM ghcr.io/astral-sh/uv:0.9.26 AS uv

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_PYTHON_PREFERENCE=only-managed \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
RUN uv python install 3.11.14 \
 && uv venv --python 3.11.14 /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protos/ protos/
COPY render_server/ render_server/
# The `render` extra (torch 2.13.0 -- the CUDA build from PyPI on Linux --, diffusers,
# transformers) and the `gpu` extra (onnxruntime-gpu in place of onnxruntime).
RUN uv pip install --python /opt/venv/bin/python ".[render,gpu]"

FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 AS runtime
LABEL org.opencontainers.image.title="marquee-render" \
      org.opencontainers.image.description="Marquee CreatiLayout render service (gRPC: RenderService)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 marquee \
 && useradd --system --uid 10001 --gid marquee --home-dir /srv/marquee --no-create-home \
      --shell /usr/sbin/nologin marquee \
 && mkdir -p /srv/marquee/outputs /var/cache/huggingface \
 && chown -R 10001:10001 /srv/marquee /var/cache/huggingface
COPY --from=build /opt/python /opt/python
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HOME=/var/cache/huggingface \
    MARQUEE_HOST=0.0.0.0 \
    MARQUEE_PORT=50053 \
    MARQUEE_METRICS_PORT=9103
WORKDIR /srv/marquee
USER 10001:10001
EXPOSE 50053 9103
ENTRYPOINT ["python", "-m", "render_server"]
