# Multi-stage: build a wheel-installed virtualenv, then run it as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /venv
COPY pyproject.toml ./
COPY app ./app
RUN /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
# Chinese fonts (Noto CJK: 宋体/黑体 substitutes) for anything the server draws or converts: previews, reports.
RUN apt-get update && apt-get install -y --no-install-recommends fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 shifan
COPY --from=build /venv /venv
WORKDIR /srv/shifan
COPY alembic.ini ./
COPY migrations ./migrations
COPY data ./data
COPY app ./app
RUN mkdir -p var && chown shifan var
USER shifan
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
# Migrations run on start (idempotent; docker-compose.yml runs them once in its own service instead).
# One server process per container: scale with more containers (the API keeps nothing in memory), so each
# container's /metrics covers all of its requests. Set SHIFAN_DATABASE_URL and SHIFAN_JWT_SECRET.
CMD ["sh", "-c", "shifan migrate && shifan serve --host 0.0.0.0 --port 8000"]
