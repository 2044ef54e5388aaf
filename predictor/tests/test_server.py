"""The app served the way the container serves it: gunicorn with --preload and several workers.

A model runtime created in gunicorn's master does not survive the fork into workers: predictions
hang while /healthz stays green. This starts the real server and checks that predictions answer.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from predictor.tests import renders

pytestmark = pytest.mark.slow
DIGITS, LABELS = renders.mnist_samples()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def server_env(tmp_path) -> dict[str, str]:
    """A migrated throwaway database and media folder for a server started in a subprocess."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MODEL_CACHE_DIR": str(tmp_path / "models"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "MODEL_REFRESH_SECONDS": "1",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=settings.BASE_DIR,
                   env=env, check=True, timeout=120)
    return env


@pytest.fixture
def gunicorn_server(tmp_path, server_env):
    port = free_port()
    env = {**server_env, "PORT": str(port), "WEB_CONCURRENCY": "2"}
    command = [sys.executable, "-m", "gunicorn", "mnistsite.wsgi:application", "--config", "mnistsite/gunicorn.conf.py"]
    log = open(tmp_path / "gunicorn.log", "wb")
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not become healthy: " + Path(tmp_path / "gunicorn.log").read_text())
    yield base
    process.terminate()
    process.wait(timeout=20)
    log.close()


def predict(base: str, index: int) -> dict:
    body, content_type = multipart("image", "d.png", renders.encode(Image.fromarray(DIGITS[index])))
    request = urllib.request.Request(base + "/api/predict/", data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=10) as response:  # a hang fails here
        return json.load(response)


def test_preloaded_gunicorn_workers_answer_predictions(gunicorn_server):
    for index in range(8):  # enough requests to reach both workers
        assert predict(gunicorn_server, index)["digit"] == LABELS[index]
    with urllib.request.urlopen(gunicorn_server + "/healthz", timeout=5) as response:
        assert json.load(response)["status"] == "ok"


ACTIVATE_COPY = """
import django; django.setup()
from django.conf import settings
from training.models import ModelVersion
from training.registry import register_model
d = settings.BUNDLED_MODEL_DIR
register_model(name="swapped-in", keras_path=d / "model.keras", tflite_path=d / "model.tflite",
               parent=ModelVersion.objects.get(status="active"), status="active")
"""


def test_every_worker_switches_to_a_newly_activated_version(gunicorn_server, server_env):
    before = {predict(gunicorn_server, 0)["model_version"] for _ in range(4)}
    assert "swapped-in" not in before
    subprocess.run([sys.executable, "-c", ACTIVATE_COPY], cwd=settings.BASE_DIR, check=True, timeout=60,
                   env={**server_env, "DJANGO_SETTINGS_MODULE": "mnistsite.settings"})
    deadline = time.monotonic() + 15
    streak = 0
    while time.monotonic() < deadline and streak < 8:  # 8 in a row: both workers have switched
        streak = streak + 1 if predict(gunicorn_server, 1)["model_version"] == "swapped-in" else 0
        time.sleep(0.1)
    assert streak >= 8, "not every worker picked up the new version within 15 s"
