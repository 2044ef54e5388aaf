"""Registering model files and switching the one that serves; the database is the source of truth."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.db.models.functions import Now

from modelfiles import check_litert_file
from training.models import ModelVersion


def register_model(
    *,
    name: str,
    keras_path: Path,
    tflite_path: Path,
    parent: ModelVersion | None = None,
    status: str = ModelVersion.Status.CANDIDATE,
    metrics: dict | None = None,
    notes: str = "",
) -> ModelVersion:
    """Copy the model's files into Django's storage (local disk or Cloud Storage) and record them.
    A LiteRT file that does not load and answer is refused first (modelfiles.ModelFilesUnavailable)."""
    check_litert_file(path=Path(tflite_path), version=name)
    version = ModelVersion(name=name, parent=parent, status=ModelVersion.Status.CANDIDATE, metrics=metrics or {}, notes=notes)
    with open(keras_path, "rb") as keras_file, open(tflite_path, "rb") as tflite_file:
        version.keras_file.save("model.keras", File(keras_file), save=False)
        version.tflite_file.save("model.tflite", File(tflite_file), save=False)
    version.save()
    if status == ModelVersion.Status.ACTIVE:
        activate(version)
    elif status != ModelVersion.Status.CANDIDATE:
        ModelVersion.objects.filter(pk=version.pk).update(status=status)
        version.status = status
    return version


#: How a bundled base model's version record says what it is (migrations 0002 and 0003 rely on it).
BUNDLED_NOTES = "The base model trained on MNIST and bundled with the code."


def register_bundled_model(*, directory: Path) -> ModelVersion:
    """The model shipped with the code becomes the first version, active unless one already is."""
    card = json.loads((directory / "model_card.json").read_text())
    existing = ModelVersion.objects.filter(name=card["version"]).first()
    if existing is not None:
        return existing
    has_active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists()
    return register_model(
        name=card["version"],
        keras_path=directory / "model.keras",
        tflite_path=directory / "model.tflite",
        status=ModelVersion.Status.RETIRED if has_active else ModelVersion.Status.ACTIVE,
        metrics=card.get("served_accuracy", {}),
        notes=BUNDLED_NOTES,
    )


class ActiveVersionChanged(RuntimeError):
    """Another version became active than the one expected (a rollback, another finetune)."""


def activate(version: ModelVersion, *, replacing: ModelVersion | None = None) -> ModelVersion:
    """Make `version` the one that serves; the previous one is retired. Rollback is the same call.
    With `replacing`, only if that version is still the active one (checked under a row lock, so a
    staff rollback made meanwhile is never silently overridden): else ActiveVersionChanged."""
    with transaction.atomic():
        current = list(ModelVersion.objects.select_for_update().filter(status=ModelVersion.Status.ACTIVE))
        if replacing is not None and [previous.pk for previous in current] != [replacing.pk]:
            now_active = current[0].name if current else "none"
            raise ActiveVersionChanged(f"the active version is now {now_active}, not {replacing.name}")
        for previous in current:
            if previous.pk != version.pk:
                ModelVersion.objects.filter(pk=previous.pk).update(status=ModelVersion.Status.RETIRED)
        # The database's clock, not this machine's: every serving process switches at activated_at
        # plus the refresh interval (predictor.inference), whichever machine activated it.
        ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.ACTIVE, activated_at=Now())
    version.status = ModelVersion.Status.ACTIVE
    version.activated_at = ModelVersion.objects.values_list("activated_at", flat=True).get(pk=version.pk)
    return version
