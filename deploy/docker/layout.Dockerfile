# syntax=docker/dockerfile:1
# Layout server: the LLM layout planner (any OpenAI-compatible endpoint) and the offline planner.
#
# Build from the repository root:
#   docker build -f deploy/docker/layout.Dockerfile -t marquee/layout:0.1.0 .
# OPENAI_API_KEY is read from the environment at run time (a Kubernetes Secret); it is never
# baked into the image.

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
RUN uv pip install --python /opt/venv/bin/python -c requirements.lock -r pyproject.toml --extra layout
# Then only what this process needs: the shared `marquee` package (protos/) and its own code.
COPY protos/ protos/
COPY layout_server/ layout_server/
# A regular (not editable) install of the `layout` extra: the openai client, no model runtime.
RUN uv pip install --python /opt/venv/bin/python --no-deps ".[layout]"

FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="marquee-layout" \
      org.opencontainers.image.description="Marquee layout planner (gRPC: LayoutService)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 marquee \
 && useradd --system --uid 10001 --gid marquee --home-dir /srv/marquee --no-create-home \
      --shell /usr/sbin/nologin marquee \
 && mkdir -p /srv/marquee \
 && chown -R 10001:10001 /srv/marquee
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MARQUEE_HOST=0.0.0.0 \
    MARQUEE_PORT=50052 \
    MARQUEE_METRICS_PORT=9102
WORKDIR /srv/marquee
USER 10001:10001
EXPOSE 50052 9102
# The gRPC health service, as the kubelet's native probe asks it; the probe also speaks TLS
# (MARQUEE_TLS_*, MARQUEE_PROBE_TLS_*), which the native probe cannot.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["python", "-m", "marquee.serving.probe"]
ENTRYPOINT ["python", "-m", "layout_server"]
