# The shop's image: one image for every process (web, worker, beat, migrations); compose.yaml
# and docs/deploy.md say which command each runs. Build: docker build -t shop .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STATIC_ROOT=/app/staticfiles \
    MEDIA_ROOT=/app/media \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    PORT=8000

WORKDIR /app

# The dependencies first, so a code change does not reinstall them (psycopg's binary wheel
# brings its own libpq; nothing to compile).
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .

# Static files are collected into the image (whitenoise serves them, compressed, with
# hashed names). The settings need a database URL and a long key to load, never a
# database: these values exist only for this step.
RUN DEBUG=0 \
    SECRET_KEY="collectstatic-only-$(python -c 'import secrets; print(secrets.token_urlsafe(48))')" \
    DATABASE_URL=postgres://build@127.0.0.1:5432/build \
    REDIS_URL=redis://127.0.0.1:6379/0 \
    python manage.py collectstatic --noinput -v0

# A user without privileges runs every process; it may write only the media folder and /tmp.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin shop \
    && mkdir -p /app/media \
    && chown shop /app/media
USER shop

EXPOSE 8000
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "shop.wsgi"]
