"""Checks a server makes before it answers anyone: misconfiguration is loud, or mended."""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)


def refuse_the_development_key() -> None:
    """A server with DEBUG off must not sign tokens and sessions with the development key, which
    is public in this repository: it refuses to start instead (management commands, tests and the
    container build still run without a key)."""
    if not settings.DEBUG and settings.SECRET_KEY_IS_THE_DEVELOPMENT_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: a server with DEBUG off will not sign with the public development key. "
            "Set SECRET_KEY (`make serve` keeps one in .local-secret-key), or DEBUG=1 on your own machine."
        )


def collect_static_files_if_missing() -> None:
    """Collect static files once when the hashed manifest is missing (a server started without
    `collectstatic`): pages would otherwise fail on every hashed link. The container collects them
    when it is built, so there this finds them and does nothing. A file lock keeps two servers on
    one STATIC_ROOT from collecting at once. Runs before anything opens the static files storage,
    which reads the manifest once."""
    from django.contrib.staticfiles.storage import ManifestFilesMixin
    from django.core.management import call_command
    from django.utils.module_loading import import_string

    backend = import_string(settings.STORAGES["staticfiles"]["BACKEND"])
    root = Path(settings.STATIC_ROOT)
    if not issubclass(backend, ManifestFilesMixin) or (root / backend.manifest_name).is_file():
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".collectstatic.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / backend.manifest_name).is_file():
            logger.warning("static files were not collected into %s; collecting them now", root)
            call_command("collectstatic", interactive=False, verbosity=0)
