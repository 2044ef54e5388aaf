"""WSGI entry point: `gunicorn mnistsite.wsgi:application`."""
import ctypes
import os

# Each server worker is one thread on its own core. NumPy's BLAS would start more threads in every
# worker, and a photo's dot products would then wait for cores the other workers hold (1000×1000
# JPEG: 510 → 75 req/s on 2 cores). Set before anything imports NumPy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")

#: glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def keep_freed_memory_for_reuse() -> None:
    """Preparing a photo allocates and frees a dozen arrays of up to 0.5 MB. With glibc's adaptive
    defaults many of them come fresh from the kernel on every request, a few hundred page faults
    (a 1000×1000 JPEG: 5.2–5.5 → 4.1–4.5 ms of worker CPU). Serving arrays up to 1 MiB from the heap, and
    keeping up to 16 MiB of it when freed, makes them reuse the same pages. Not glibc: no change."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter itself uses
    except (OSError, AttributeError, TypeError):
        return
    mallopt(M_MMAP_THRESHOLD, 1 << 20)
    mallopt(M_TRIM_THRESHOLD, 16 << 20)


keep_freed_memory_for_reuse()

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from mnistsite.http import BufferChunkedBodies  # noqa: E402
from mnistsite.startup import collect_static_files_if_missing, refuse_the_development_key  # noqa: E402

django.setup(set_prefix=False)
refuse_the_development_key()
collect_static_files_if_missing()  # before the app starts: WhiteNoise lists the files when it does
application = BufferChunkedBodies(get_wsgi_application(), max_upload_bytes=settings.MAX_UPLOAD_BYTES)
