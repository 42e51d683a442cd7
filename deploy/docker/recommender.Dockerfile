# syntax=docker/dockerfile:1
# Recommender server: SASRec on ONNX Runtime (CPU), carrying its Triton-style model repository.
#
# Build from the repository root (the context must be the root; the allow-list in
# recommender.Dockerfile.dockerignore keeps everything else, data above all, out of it):
#   docker build -f deploy/docker/recommender.Dockerfile -t marquee/recommender:0.1.0 .
#
# Base images are pinned to exact version tags; resolve them to digests when you build
# (see docs/deploy.md, "Images").

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
# which; the lock fixes them): a change to the code reuses this layer.
COPY pyproject.toml README.md requirements.lock ./
RUN uv pip install --python /opt/venv/bin/python -c requirements.lock -r pyproject.toml --extra recommender
# Then only what this process needs: the shared `marquee` package (protos/) and its own code.
COPY protos/ protos/
COPY recommender_server/ recommender_server/
# A regular (not editable) install of the `recommender` extra: onnxruntime, tritonclient's stubs, no torch.
RUN uv pip install --python /opt/venv/bin/python --no-deps ".[recommender]"
# The image must carry the model: fail the build if the repository did not make it in.
RUN python -c "import pathlib, recommender_server as r; \
repo = pathlib.Path(r.__file__).parent / 'model_repository' / 'sasrec'; \
assert (repo / 'config.pbtxt').is_file() and (repo / '1' / 'model.onnx').is_file(), repo"

FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="marquee-recommender" \
      org.opencontainers.image.description="Marquee SASRec recommender (gRPC: RecommenderService + KServe v2)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 marquee \
 && useradd --system --uid 10001 --gid marquee --home-dir /srv/marquee --no-create-home \
      --shell /usr/sbin/nologin marquee \
 && mkdir -p /srv/marquee/data \
 && chown -R 10001:10001 /srv/marquee
COPY --from=build /opt/venv /opt/venv
# The same model repository at a fixed path, so the Triton overlay can copy it out of this image
# into a Triton pod (deploy/k8s/overlays/triton).
COPY --from=build /src/recommender_server/model_repository /models
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MARQUEE_HOST=0.0.0.0 \
    MARQUEE_PORT=50051 \
    MARQUEE_METRICS_PORT=9101
# MovieLens-1M is never in the image (its licence forbids redistribution): the server finds it in
# ./data (mount a volume there) or downloads the official archive into it at start-up.
WORKDIR /srv/marquee
USER 10001:10001
EXPOSE 50051 9101
# The gRPC health service, as the kubelet's native probe asks it; the probe also speaks TLS
# (MARQUEE_TLS_*, MARQUEE_PROBE_TLS_*), which the native probe cannot.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["python", "-m", "marquee.serving.probe"]
ENTRYPOINT ["python", "-m", "recommender_server"]
