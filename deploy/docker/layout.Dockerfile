# syntax=docker/dockerfile:1
# Layout server: the LLM layout planner (any OpenAI-compatible endpoint) and the offline planner.
#
# Build from the repository root:
#   docker build -f deploy/docker/layout.Dockerfile -t marquee/layout:0.1.0 .
# OPENAI_API_KEY is read from the environment at run time (a Kubernetes Secret); it is never
# baked into the image.

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protos/ protos/
COPY layout_server/ layout_server/
# Only the `layout` extra: the openai client, no model runtime.
RUN pip install ".[layout]"

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
ENTRYPOINT ["python", "-m", "layout_server"]
