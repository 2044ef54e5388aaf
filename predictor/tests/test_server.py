"""The app served the way the container serves it: gunicorn with --preload and several workers.

A model runtime created in gunicorn's master does not survive the fork into workers: predictions
hang while /healthz stays green. This starts the real server and checks that predictions answer.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from mnistsite.tests.contract import post_to_api
from predictor.tests import liveserver, renders

pytestmark = pytest.mark.slow
DIGITS, LABELS = renders.mnist_samples()


@pytest.fixture
def server_env(tmp_path) -> dict[str, str]:
    """A migrated throwaway database and media folder for a server started in a subprocess."""
    env = liveserver.throwaway_env(tmp_path, MODEL_REFRESH_SECONDS="1")
    liveserver.migrate(env)
    return env


@pytest.fixture
def gunicorn_server(tmp_path, server_env):
    try:
        process, base, _ = liveserver.start_gunicorn(server_env, log=tmp_path / "gunicorn.log")
    except RuntimeError as error:
        pytest.fail(str(error))
    yield base
    liveserver.stop(process)


def post_upload(base: str, data: bytes) -> dict:
    body, content_type = liveserver.multipart(data)
    status, answer = post_to_api(base, "/api/predict/", body=body, content_type=content_type, timeout=10)
    assert status == 200, answer
    return json.loads(answer)


def predict(base: str, index: int) -> dict:
    return post_upload(base, renders.encode(Image.fromarray(DIGITS[index])))


def test_preloaded_gunicorn_workers_answer_predictions(gunicorn_server):
    for index in range(8):  # enough requests to reach both workers
        assert predict(gunicorn_server, index)["digit"] == LABELS[index]
    with urllib.request.urlopen(gunicorn_server + "/healthz", timeout=5) as response:
        assert json.load(response)["status"] == "ok"


def test_upload_sent_chunked_without_a_length_is_read(gunicorn_server):
    """A streaming client (or Cloud Run's proxy for an HTTP/2 client that gives no length) sends the
    body chunked; Django alone would read it as empty and answer that no picture was sent."""
    body, content_type = liveserver.multipart(renders.encode(Image.fromarray(DIGITS[3])))
    request = urllib.request.Request(gunicorn_server + "/api/predict/", data=iter([body[:100], body[100:]]),
                                     headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["digit"] == LABELS[3]


def test_each_worker_runs_a_single_thread(tmp_path, server_env):
    """One sync worker per core: a BLAS thread pool in each worker would compete with the others
    for the same cores (photos slowed down 7× before it was turned off)."""
    process, base, _ = liveserver.start_gunicorn(server_env, log=tmp_path / "gunicorn.log")
    try:
        liveserver.worker_pids(process)  # both workers up before the photos, so each gets some
        photo = renders.phone_photo(DIGITS[1])
        for _ in range(4):  # a photo's preprocessing is what reaches BLAS
            assert post_upload(base, photo)["digit"] == LABELS[1]
        workers = liveserver.worker_pids(process)
        assert len(workers) == 2
        for pid in workers:
            assert "Threads:\t1\n" in Path(f"/proc/{pid}/status").read_text()
    finally:
        liveserver.stop(process)


def minor_page_faults(pid: str) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the allocator setting is glibc's")
def test_a_worker_reuses_its_memory_from_one_photo_to_the_next(tmp_path, server_env):
    """With glibc's defaults, a worker maps ≈ 400 fresh pages for every 1000×1000 photo (≈ 1 ms)."""
    process, base, _ = liveserver.start_gunicorn(server_env, workers=1, log=tmp_path / "gunicorn.log")
    try:
        photo = renders.large_phone_photo(DIGITS[5])

        def post_photos(count: int) -> None:
            for _ in range(count):
                assert post_upload(base, photo)["digit"] == LABELS[5]

        (worker,) = liveserver.worker_pids(process, count=1)
        post_photos(5)  # settled in
        before = minor_page_faults(worker)
        post_photos(10)
        assert (minor_page_faults(worker) - before) / 10 < 50
    finally:
        liveserver.stop(process)


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
                   env=server_env)
    deadline = time.monotonic() + 15
    streak = 0
    while time.monotonic() < deadline and streak < 8:  # 8 in a row: both workers have switched
        streak = streak + 1 if predict(gunicorn_server, 1)["model_version"] == "swapped-in" else 0
        time.sleep(0.1)
    assert streak >= 8, "not every worker picked up the new version within 15 s"
