# The help desk: one image for the web process (daphne: HTTP + WebSocket), the Celery worker
# and Celery beat. docker-compose.yml wires it to PostgreSQL and Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# A Unicode font for the dashboard's PDF export (Cyrillic, accents).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN pip install .

# Everything else; .dockerignore keeps local state (virtualenv, databases, media) out.
COPY . .

RUN python manage.py compile_translations \
    && useradd --system --create-home --home-dir /home/helpdesk helpdesk \
    && mkdir -p /app/var/media \
    && chown -R helpdesk /app/var

USER helpdesk
EXPOSE 8000

# Static files are served by the ASGI application itself (SERVE_STATIC, on by default).
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "helpdesk.asgi:application"]
