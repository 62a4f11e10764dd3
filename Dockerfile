# Production image: gunicorn behind the nginx proxy; the same image runs the one-shot
# migration, the outbox dispatcher, the Celery workers and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# xmlsec1 signs and encrypts the SAML IdP's responses (pysaml2); Pango and DejaVu fonts
# render the school letters' PDF (WeasyPrint).
RUN apt-get update && apt-get install -y --no-install-recommends xmlsec1 \
    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
# Locked and hashed (pip-compile --generate-hashes from pyproject.toml; docs/deployment.md):
# pip refuses any file whose hash differs, and resolves nothing at build time.
COPY requirements/production.txt requirements/production.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/production.txt
# .dockerignore keeps out .env, var/ (SQLite, SMS files), .venv, tests and .git.
COPY . .
RUN DJANGO_STATIC_ROOT=/app/staticfiles python manage.py collectstatic --no-input \
    && rm -rf /app/var \
    && useradd --system --uid 10001 --home-dir /app educonnect && mkdir -p /app/var \
    && chown -R educonnect /app/var
USER 10001

EXPOSE 8000
# The web node's start: refuse unsafe settings, then serve. Migrations run once per
# deployment in compose's `migrate` service, never in each replica.
CMD ["sh", "-c", "python manage.py check --deploy --fail-level WARNING && exec gunicorn --config deploy/gunicorn.conf.py educonnect.wsgi:application"]
