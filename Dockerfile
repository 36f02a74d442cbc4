# syntax=docker/dockerfile:1
# One image for the server and the agent: the command chooses (`server`, `agent`,
# `migrate`, ...). Build: docker build -t conveyor .   See docs/deploy.md.

# ---- 1. the web dashboard (web/ -> src/conveyor/ui) ------------------------------
FROM node:22-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY openapi.json /src/openapi.json
COPY web/ ./
RUN npm run build

# ---- 2. the wheel, then a virtual environment installed from it and the lock -----
FROM python:3.12-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
COPY --from=web /src/src/conveyor/ui/ src/conveyor/ui/
# The exact pins of the server install are requirements/run.txt (`make lock`), used
# as constraints; a checkout without it installs within pyproject.toml's ranges.
RUN python -m pip install build==1.6.1 \
 && python -m build --wheel --outdir /dist . \
 && python -m venv /opt/conveyor \
 && set -- \
 && if [ -f requirements/run.txt ]; then set -- -c requirements/run.txt; fi \
 && /opt/conveyor/bin/pip install "$@" "$(ls /dist/*.whl)[server,tracing]"

# ---- 3. the runtime: the virtual environment, a non-root user, no build tools ----
FROM python:3.12-slim-bookworm AS runtime
# tini is PID 1: it passes SIGTERM on to conveyor (which handles it: the server
# drains, the agent hands its jobs back) and reaps the orphans of jobs' processes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini=0.19.* \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 conveyor \
 && useradd --system --uid 10001 --gid conveyor --home-dir /var/lib/conveyor \
      --create-home --shell /usr/sbin/nologin conveyor
COPY --from=build /opt/conveyor /opt/conveyor
ENV PATH=/opt/conveyor/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONVEYOR_HOST=0.0.0.0 \
    CONVEYOR_PORT=8000 \
    CONVEYOR_DATA_DIR=/var/lib/conveyor \
    CONVEYOR_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/conveyor
VOLUME ["/var/lib/conveyor"]
EXPOSE 8000
# The server's liveness. An agent serves no HTTP: its containers turn this off.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CONVEYOR_PORT', '8000'), timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "conveyor"]
CMD ["server"]
