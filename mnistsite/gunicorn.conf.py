"""gunicorn settings shared by the container, `make serve` and the server tests.

The app is preloaded in the master (workers fork with Django ready, so they answer at once), but
the model is not: each worker creates its own LiteRT interpreter on first use, because a runtime
started in the master does not survive fork (with TensorFlow, predictions in the workers hang
while health checks stay green).
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
preload_app = True
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
control_socket_disable = True  # no management socket in a container (its home is read-only)
accesslog = "-" if os.environ.get("GUNICORN_ACCESS_LOG", "0") == "1" else None
errorlog = "-"


def post_fork(server, worker):
    """Warm the model in each worker so the first real request does not pay for loading it."""
    from predictor.inference import get_classifier

    try:
        get_classifier()
    except Exception:  # noqa: BLE001 - the worker still serves; /healthz reports the failure
        server.log.exception("worker %s could not load the model", worker.pid)
