# Production image: gunicorn behind a TLS-terminating proxy; the same image runs the Celery
# worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# xmlsec1 signs and encrypts the SAML IdP's responses (pysaml2); Pango and DejaVu fonts
# render the school letters' PDF (WeasyPrint).
RUN apt-get update && apt-get install -y --no-install-recommends xmlsec1 \
    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml ./
RUN pip install --no-cache-dir .
COPY . .
RUN DJANGO_STATIC_ROOT=/app/staticfiles python manage.py collectstatic --no-input \
    && useradd --system --uid 10001 educonnect && mkdir -p /app/var \
    && chown -R educonnect /app/var
USER educonnect

EXPOSE 8000
CMD ["sh", "-c", "python manage.py check --deploy --fail-level WARNING && python manage.py migrate --no-input && python manage.py sync_roles && exec gunicorn educonnect.wsgi:application --bind 0.0.0.0:8000 --workers ${GUNICORN_WORKERS:-4} --access-logfile -"]
