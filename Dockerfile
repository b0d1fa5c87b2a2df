# syntax=docker/dockerfile:1
# Build: a wheel of Tandem and its dependencies. Run: a slim image, a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/tandem
COPY pyproject.toml README.md ./
COPY tandem ./tandem
RUN /opt/tandem/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/tandem/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 tandem
COPY --from=build /opt/tandem /opt/tandem
ENV PATH=/opt/tandem/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TANDEM_ENV=production
USER tandem
WORKDIR /home/tandem
EXPOSE 8000
# DATABASE_URL and SECRET_KEY must be given; `tandem serve` migrates, then serves.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
CMD ["tandem", "serve", "--host", "0.0.0.0", "--port", "8000"]
