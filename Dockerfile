# Container for Google Cloud Run. The production-grade recipe (multi-stage, lean serving target,
# training target) is the subject of the "Ship it" issue; this image already runs the app the way
# the tests exercise it: gunicorn with mnistsite/gunicorn.conf.py on $PORT, as a non-root user.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PORT=8080
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN python manage.py collectstatic --noinput -v 0 \
    && useradd --system --uid 10001 --home /app app \
    && mkdir -p /app/media && chown app /app/media
USER app

EXPOSE 8080
CMD ["gunicorn", "mnistsite.wsgi:application", "--config", "mnistsite/gunicorn.conf.py"]
