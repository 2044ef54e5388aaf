"""Fixtures shared by every app's tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
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


def _wait_for_port(port: int, *, process: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}: {process.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{what} did not listen on port {port} within {timeout:.0f} s")


@pytest.fixture(scope="session")
def storage_emulator() -> str:
    """Cloud Storage's JSON API on loopback (gcp-storage-emulator, in memory); yields its address.

    google-cloud-storage sends every request there when STORAGE_EMULATOR_HOST names it."""
    from predictor.tests.liveserver import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port", str(port),
         "--in-memory", "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    _wait_for_port(port, process=process, what="gcp-storage-emulator")
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def cloud_bucket(storage_emulator, settings, monkeypatch):
    """A fresh, empty bucket on the emulator, set up as in production: the default and originals
    storages are django-storages' Cloud Storage backends on it. Yields the bucket."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.storage import Client

    from mnistsite.settings import file_storages

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", storage_emulator)
    client = Client(project="test", credentials=AnonymousCredentials())
    bucket = client.create_bucket(f"test-{uuid.uuid4().hex[:16]}")
    settings.GS_BUCKET_NAME = bucket.name
    settings.STORAGES = {**settings.STORAGES, **file_storages(bucket.name)}
    return bucket


class RedisServer:
    """A redis-server of the tests' own on a spare port, which a test may stop and start again."""

    def __init__(self, port: int):
        self.port, self.process = port, None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        import shutil

        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (.ci/run installs the machines' Redis)")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        _wait_for_port(self.port, process=self.process, what="redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis():
    """A Redis server for one test alone (to stop it under a live server, say)."""
    from predictor.tests.liveserver import free_port

    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis server these machines run on 127.0.0.1:6379 (.ci/run starts it when it is down),
    database 15; one of the tests' own when none answers there."""
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        from predictor.tests.liveserver import free_port

        server = RedisServer(free_port())
        server.start()
        yield server.url
        server.stop()
        return
    yield url


@pytest.fixture
def redis_cache(redis_url, settings):
    """The default cache on Redis, as in production, under a key prefix of this test's own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex[:12]}",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    return redis_url


@pytest.fixture(scope="session")
def openapi_contract():
    """The published OpenAPI document, ready to check answers against (openapi-core)."""
    from mnistsite.tests.contract import published_contract

    return published_contract()


@pytest.fixture(autouse=True)
def api_answers_keep_the_contract(openapi_contract, monkeypatch):
    """Every answer the API gives the test client in any test is checked against the published
    OpenAPI document (mnistsite/openapi.yaml)."""
    from django.test.client import Client

    from mnistsite.tests.contract import check_against_contract

    original = Client.request

    def request(self, **environ):
        response = original(self, **environ)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api/") or path == "/healthz":
            check_against_contract(openapi_contract, method=environ.get("REQUEST_METHOD", "GET"), path=path,
                                   response=response)
        return response

    monkeypatch.setattr(Client, "request", request)
