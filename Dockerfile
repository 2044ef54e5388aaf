# syntax=docker/dockerfile:1.7
# Two targets from one recipe:
#   serve (default, last stage): the web app; LiteRT only, no TensorFlow.
#   train: the same code plus TensorFlow, for the finetune Cloud Run Job.
ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm

FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies in their own layers: they change far less often than the code.
FROM base AS serve-deps
COPY requirements/serve.txt requirements/serve.txt
RUN python -m venv /venv && /venv/bin/pip install -r requirements/serve.txt

FROM base AS train-deps
COPY requirements/serve.txt requirements/train.txt requirements/
RUN python -m venv /venv && /venv/bin/pip install -r requirements/train.txt

FROM base AS runtime
RUN useradd --system --uid 10001 --no-create-home --home-dir /app app
ENV PATH=/venv/bin:$PATH \
    PORT=8080 \
    MODEL_CACHE_DIR=/tmp/models \
    MEDIA_ROOT=/tmp/media

FROM runtime AS train
COPY --from=train-deps /venv /venv
COPY . .
USER 10001
CMD ["python", "manage.py", "finetune"]

FROM runtime AS serve
COPY --from=serve-deps /venv /venv
COPY . .
RUN python manage.py collectstatic --noinput -v 0
USER 10001
EXPOSE 8080
CMD ["gunicorn", "mnistsite.wsgi:application", "--config", "mnistsite/gunicorn.conf.py"]
