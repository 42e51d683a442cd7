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
# One CUDA: torch's Linux wheels from PyPI carry the CUDA runtime and cuDNN they were built with
# (the nvidia-* wheels), so the base is plain Python; the node's driver comes in through the
# NVIDIA container runtime. No onnxruntime: the render server never imports it.

FROM ghcr.io/astral-sh/uv:0.13.8 AS uv

FROM python:3.11.14-slim-bookworm AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
RUN uv venv --python /usr/local/bin/python /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, at the versions and hashes of requirements.lock (the package metadata names
# which; the lock fixes them): a change to the code reuses this layer. torch is the one package
# the lock leaves out (it is resolved there against the CPU build): here it is pyproject's exact
# pin, the CUDA build from PyPI, whose own exact pins fix its nvidia-* wheels (most of the image).
COPY pyproject.toml README.md requirements.lock ./
RUN uv pip install --python /opt/venv/bin/python -c requirements.lock -r pyproject.toml --extra render
COPY protos/ protos/
COPY render_server/ render_server/
# The `render` extra: torch 2.13.0 (the CUDA build from PyPI on Linux), diffusers, transformers.
RUN uv pip install --python /opt/venv/bin/python --no-deps ".[render]"

FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="marquee-render" \
      org.opencontainers.image.description="Marquee CreatiLayout render service (gRPC: RenderService)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 marquee \
 && useradd --system --uid 10001 --gid marquee --home-dir /srv/marquee --no-create-home \
      --shell /usr/sbin/nologin marquee \
 && mkdir -p /srv/marquee/outputs /var/cache/huggingface \
 && chown -R 10001:10001 /srv/marquee /var/cache/huggingface
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HOME=/var/cache/huggingface \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    MARQUEE_HOST=0.0.0.0 \
    MARQUEE_PORT=50053 \
    MARQUEE_METRICS_PORT=9103
WORKDIR /srv/marquee
USER 10001:10001
EXPOSE 50053 9103
# The gRPC health service, as the kubelet's native probe asks it; the probe also speaks TLS
# (MARQUEE_TLS_*, MARQUEE_PROBE_TLS_*), which the native probe cannot. The first start may
# download and load ~16 GB of weights.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30m --retries=3 \
  CMD ["python", "-m", "marquee.serving.probe"]
ENTRYPOINT ["python", "-m", "render_server"]
