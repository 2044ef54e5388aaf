"""Model versions: the bundled base is registered, exactly one is active, rollback, hot swap."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from PIL import Image

from predictor import inference
from predictor.tests import renders
from training.models import ModelVersion
from training.registry import activate, register_model

BUNDLED = settings.BUNDLED_MODEL_DIR
DIGITS, _ = renders.mnist_samples()


def copy_of_base(name: str, status: str = ModelVersion.Status.CANDIDATE) -> ModelVersion:
    return register_model(name=name, keras_path=BUNDLED / "model.keras", tflite_path=BUNDLED / "model.tflite",
                          parent=ModelVersion.objects.get(status="active"), status=status)


def test_bundled_model_is_the_first_active_version():
    card = json.loads((BUNDLED / "model_card.json").read_text())
    active = ModelVersion.objects.get(status="active")
    assert active.name == card["version"]
    assert active.metrics["mnist_test_direct"] == card["served_accuracy"]["mnist_test_direct"]


def test_at_most_one_active_version_is_enforced_by_the_database():
    other = copy_of_base("other")
    with pytest.raises(IntegrityError):
        ModelVersion.objects.filter(pk=other.pk).update(status="active")


def test_activate_retires_the_previous_version():
    base = ModelVersion.objects.get(status="active")
    newer = copy_of_base("newer")
    activate(newer)
    base.refresh_from_db()
    assert base.status == "retired" and ModelVersion.objects.get(status="active") == newer


def test_api_switches_to_a_newly_activated_version(client, settings):
    settings.MODEL_REFRESH_SECONDS = 0
    upload = lambda: {"image": SimpleUploadedFile("d.png", renders.encode(Image.fromarray(DIGITS[0])))}  # noqa: E731
    before = client.post("/api/predict/", upload()).json()["model_version"]
    activate(copy_of_base("hot-swapped"))
    assert client.post("/api/predict/", upload()).json()["model_version"] == "hot-swapped"
    assert client.get("/healthz").json()["model_version"] == "hot-swapped"
    assert before != "hot-swapped"


def test_swap_waits_for_the_refresh_interval(settings):
    settings.MODEL_REFRESH_SECONDS = 3600
    current = inference.get_classifier().version
    activate(copy_of_base("later"))
    assert inference.get_classifier().version == current


def test_a_new_version_is_served_from_one_instant_not_from_each_check(settings):
    """Loaded at the first check after activation, served from activation + refresh interval: the
    instant every worker knows, so their answers do not flip between versions meanwhile."""
    settings.MODEL_REFRESH_SECONDS = 2.0  # room for a slow machine between activation and the check
    current = inference.get_classifier().version
    time.sleep(2.05)  # the next call asks the database again
    version = activate(copy_of_base("synchronised"))
    assert inference.get_classifier().version == current, "loaded but not served before its instant"
    time.sleep(max(0.0, version.activated_at.timestamp() + 2.0 - time.time()) + 0.05)
    assert inference.get_classifier().version == "synchronised"


def test_serving_keeps_its_model_when_the_database_fails(settings, monkeypatch):
    from django.db import DatabaseError
    from django.db.models.query import QuerySet

    settings.MODEL_REFRESH_SECONDS = 0
    current = inference.get_classifier().version

    def broken(*args, **kwargs):
        raise DatabaseError("server closed the connection")

    monkeypatch.setattr(QuerySet, "first", broken)
    assert inference.get_classifier().version == current


def test_admin_rollback_needs_permission_and_activates_the_older_version(client):
    base = ModelVersion.objects.get(status="active")
    activate(copy_of_base("bad-new"))
    user = User.objects.create_user("ops", password="pw-Secret-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(user)
    url = "/admin/training/modelversion/"
    client.post(url, {"action": "activate_version", "_selected_action": [base.pk]})
    assert ModelVersion.objects.get(status="active").name == "bad-new", "no permission, no change"
    user.user_permissions.add(Permission.objects.get(codename="activate_modelversion"))
    client.post(url, {"action": "activate_version", "_selected_action": [base.pk]})
    assert ModelVersion.objects.get(status="active") == base
    assert ModelVersion.objects.get(name="bad-new").status == "retired"
    assert base.name in client.get(url).content.decode()
