# syntax=docker/dockerfile:1
# Operator client: the Textual console and the headless flow (`python -m client_tui run ...`),
# for running inside the cluster, where the NetworkPolicies let only client pods reach the servers.
#
# Build from the repository root:
#   docker build -f deploy/docker/client.Dockerfile -t marquee/client:0.1.0 .

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
RUN uv pip install --python /opt/venv/bin/python -c requirements.lock -r pyproject.toml --extra tui
# Then only what this process needs: the shared `marquee` package (protos/) and its own code.
COPY protos/ protos/
COPY client_tui/ client_tui/
# A regular (not editable) install of the `tui` extra: textual and pillow, no model runtime.
RUN uv pip install --python /opt/venv/bin/python --no-deps ".[tui]"

FROM python:3.11.14-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="marquee-client" \
      org.opencontainers.image.description="Marquee operator client (console and headless flow)" \
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
    MARQUEE_RECOMMENDER_ADDR=recommender:50051 \
    MARQUEE_LAYOUT_ADDR=layout:50052 \
    MARQUEE_RENDER_ADDR=render:50053
WORKDIR /srv/marquee
USER 10001:10001
ENTRYPOINT ["python", "-m", "client_tui"]
