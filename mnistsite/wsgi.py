"""WSGI entry point: `gunicorn mnistsite.wsgi:application`."""
import os

# Each server worker is one thread on its own core. NumPy's BLAS would start more threads in every
# worker, and a photo's dot products would then wait for cores the other workers hold (1000×1000
# JPEG: 510 → 75 req/s on 2 cores). Set before anything imports NumPy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
