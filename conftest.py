"""Fixtures shared by every app's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = Path(settings.MNIST_PATH)
    if not path.is_file():
        pytest.skip(f"MNIST file not found at {path} (set MNIST_PATH); these tests need real MNIST data")
    return path


@pytest.fixture(scope="session", autouse=True)
def session_media_root(tmp_path_factory):
    """Files written while the test database is set up (the bundled model's migration) go to a
    temporary directory, never into the working tree."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("session-media")):
        yield


@pytest.fixture(scope="session")
def django_db_setup(session_media_root, django_db_setup):
    """pytest-django's database set-up, run only once the temporary MEDIA_ROOT is in place."""
    yield


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads land in a per-test temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Pages render without running collectstatic first (production uses the hashed manifest)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def database_for_every_test(db):
    """Every request path asks the database which model version is active, as in production."""


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate-limit counters and lockouts start from zero in every test."""
    from django.core.cache import cache

    cache.clear()
