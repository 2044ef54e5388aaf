"""Model swaps fail safe: a version that cannot be loaded never takes the service down."""

from __future__ import annotations

import os
import time

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from modelfiles import ModelFilesUnavailable
from predictor import inference
from training.models import ModelVersion
from training.registry import activate, register_model

BUNDLED = settings.BUNDLED_MODEL_DIR


@pytest.fixture(autouse=True)
def new_process(settings, tmp_path):
    """Each test starts as a freshly started worker would, with its own model file cache."""
    settings.MODEL_CACHE_DIR = tmp_path / "model-cache"
    inference._state.start(pid=os.getpid())
    yield
    inference._state.start(pid=os.getpid())


def copy_of_base(name: str) -> ModelVersion:
    return register_model(name=name, keras_path=BUNDLED / "model.keras", tflite_path=BUNDLED / "model.tflite",
                          parent=ModelVersion.objects.get(status="active"))


def broken_version(name: str) -> ModelVersion:
    """A version whose stored LiteRT file was damaged after it was registered."""
    version = copy_of_base(name)
    default_storage.delete(version.tflite_file.name)
    default_storage.save(version.tflite_file.name, ContentFile(b"TFL3 not a flatbuffer at all"))
    return version


def test_a_corrupt_file_is_refused_when_it_is_registered(tmp_path):
    corrupt = tmp_path / "model.tflite"
    corrupt.write_bytes(b"\x00" * 4096)
    with pytest.raises(ModelFilesUnavailable, match="not a usable model"):
        register_model(name="corrupt", keras_path=BUNDLED / "model.keras", tflite_path=corrupt)
    assert not ModelVersion.objects.filter(name="corrupt").exists()


def test_a_version_that_cannot_be_loaded_leaves_the_loaded_model_serving(client, settings):
    settings.MODEL_REFRESH_SECONDS = 0
    serving = inference.get_classifier().version
    activate(broken_version("broken"))

    assert inference.get_classifier().version == serving
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["model_version"] == serving
    assert body["model_load_failure"]["version"] == "broken" and body["model_load_failure"]["attempts"] == 1


def test_a_new_worker_serves_the_bundled_model_when_the_active_one_cannot_be_loaded(client):
    activate(broken_version("broken"))
    inference._state.start(pid=os.getpid())  # a worker started after the activation

    health = client.get("/healthz")

    assert health.status_code == 200
    assert health.json()["model_version"] == inference.bundled_model_files(directory=BUNDLED).version
    assert health.json()["model_load_failure"]["version"] == "broken"


def test_a_failed_version_is_tried_again_later_with_a_growing_delay(settings, monkeypatch):
    settings.MODEL_REFRESH_SECONDS = 0
    inference.get_classifier()
    version = activate(broken_version("broken"))
    inference.get_classifier()
    inference.get_classifier()  # within the delay: not tried again
    first = inference._state.failure
    assert first.attempts == 1
    assert first.retry_at - time.monotonic() == pytest.approx(inference.FIRST_RETRY_SECONDS, abs=1)

    monkeypatch.setattr(inference._state, "failure", inference.LoadFailure(**{**first.__dict__, "retry_at": 0}))
    inference.get_classifier()
    second = inference._state.failure
    assert second.attempts == 2
    assert second.retry_at - time.monotonic() == pytest.approx(2 * inference.FIRST_RETRY_SECONDS, abs=1)

    # Repaired in storage: the next try loads it, and the failure is forgotten.
    default_storage.delete(version.tflite_file.name)
    with open(BUNDLED / "model.tflite", "rb") as good:
        default_storage.save(version.tflite_file.name, ContentFile(good.read()))
    monkeypatch.setattr(inference._state, "failure", inference.LoadFailure(**{**second.__dict__, "retry_at": 0}))
    settings.MODEL_CACHE_DIR = settings.MODEL_CACHE_DIR.parent / "fresh-cache"  # the damaged copy was cached
    inference.get_classifier()
    version.refresh_from_db()
    time.sleep(max(0.0, version.activated_at.timestamp() - time.time()) + 0.01)
    assert inference.get_classifier().version == "broken"
    assert inference._state.failure is None


def test_a_version_rolled_back_before_its_instant_is_never_served(settings):
    settings.MODEL_REFRESH_SECONDS = 1.0
    base = ModelVersion.objects.get(status="active")
    serving = inference.get_classifier().version
    time.sleep(1.05)
    newer = activate(copy_of_base("rolled-back"))
    assert inference.get_classifier().version == serving  # loaded, waiting for its instant
    assert inference._state.next.version == "rolled-back"

    activate(base)  # staff roll back within the refresh interval
    time.sleep(max(0.0, newer.activated_at.timestamp() + 1.0 - time.time()) + 0.05)

    assert inference.get_classifier().version == serving
    assert inference._state.next is None


def test_activation_time_is_the_database_clock(monkeypatch):
    """Every process switches at activated_at + the refresh interval, so it must not depend on the
    clock of whichever machine ran the activation."""
    real_now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: real_now - timezone.timedelta(hours=3))  # a machine 3 h slow
    version = activate(copy_of_base("clock"))
    stored = ModelVersion.objects.get(pk=version.pk).activated_at
    assert abs((stored - real_now).total_seconds()) < 60
    assert version.activated_at == stored


def test_a_version_in_cloud_storage_is_fetched_and_served(cloud_bucket, settings):
    settings.MODEL_REFRESH_SECONDS = 0
    inference.get_classifier()
    version = activate(copy_of_base("from-the-bucket"))
    assert cloud_bucket.blob(version.tflite_file.name).exists()
    time.sleep(max(0.0, version.activated_at.timestamp() - time.time()) + 0.01)

    assert inference.get_classifier().version == "from-the-bucket"
    assert (settings.MODEL_CACHE_DIR / "from-the-bucket" / "model.tflite").read_bytes() == (
        BUNDLED / "model.tflite"
    ).read_bytes()


def test_a_version_missing_from_cloud_storage_leaves_the_loaded_model_serving(cloud_bucket, settings, client):
    settings.MODEL_REFRESH_SECONDS = 0
    serving = inference.get_classifier().version
    version = copy_of_base("lost")
    cloud_bucket.blob(version.tflite_file.name).delete()
    activate(version)

    assert inference.get_classifier().version == serving
    body = client.get("/healthz").json()
    assert body["model_version"] == serving and body["model_load_failure"]["version"] == "lost"
    assert "cannot fetch" in body["model_load_failure"]["error"]
