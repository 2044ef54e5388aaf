"""A database set up with an older bundled model gets the new one when it migrates."""

from __future__ import annotations

import importlib

from django.apps import apps

from training.models import ModelVersion
from modelfiles import bundled_version_name
from training.registry import BUNDLED_NOTES, register_model

upgrade = importlib.import_module("training.migrations.0003_upgrade_bundled_base_model")


def pretend_an_older_base_is_registered() -> ModelVersion:
    """The test database holds today's bundled model (migration 0002); rename it as if it were
    the base model an earlier release shipped."""
    older = ModelVersion.objects.get(name=bundled_version_name())
    older.name = "base-older"
    older.save()
    return older


def test_the_new_bundled_model_takes_over_from_an_older_base():
    older = pretend_an_older_base_is_registered()
    assert older.status == ModelVersion.Status.ACTIVE

    upgrade.register_current_bundled_model(apps, None)

    new = ModelVersion.objects.get(name=bundled_version_name())
    assert new.status == ModelVersion.Status.ACTIVE and new.activated_at is not None
    assert new.notes == BUNDLED_NOTES and new.metrics["semeion_upload"] >= 0.93
    older.refresh_from_db()
    assert older.status == ModelVersion.Status.RETIRED
    assert new.tflite_file.storage.exists(new.tflite_file.name)


def test_a_promoted_finetuned_version_keeps_serving(settings):
    pretend_an_older_base_is_registered()
    directory = settings.BUNDLED_MODEL_DIR
    finetuned = register_model(name="ft-1", keras_path=directory / "model.keras",
                               tflite_path=directory / "model.tflite", status=ModelVersion.Status.ACTIVE)

    upgrade.register_current_bundled_model(apps, None)

    assert ModelVersion.objects.get(name=bundled_version_name()).status == ModelVersion.Status.RETIRED
    finetuned.refresh_from_db()
    assert finetuned.status == ModelVersion.Status.ACTIVE


def test_a_database_that_has_the_bundled_model_is_left_alone():
    before = list(ModelVersion.objects.values_list("name", "status", "activated_at"))
    upgrade.register_current_bundled_model(apps, None)
    assert list(ModelVersion.objects.values_list("name", "status", "activated_at")) == before


def test_a_database_migrated_with_the_previous_bundled_model_gets_this_one():
    """0006 has run on databases made with the previous bundled model; 0007 brings this one."""
    older = pretend_an_older_base_is_registered()
    latest = importlib.import_module("training.migrations.0007_upgrade_bundled_base_model").Migration
    assert ("training", "0006_upgrade_bundled_base_model") in latest.dependencies

    (operation,) = latest.operations
    operation.code(apps, None)

    assert ModelVersion.objects.get(name=bundled_version_name()).status == ModelVersion.Status.ACTIVE
    older.refresh_from_db()
    assert older.status == ModelVersion.Status.RETIRED
