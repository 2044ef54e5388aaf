"""The model bundled with the code becomes the first ModelVersion, active, with its files in storage."""

import json

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import migrations
from django.utils import timezone

from training.registry import BUNDLED_NOTES


def register_bundled_model(apps, schema_editor):
    ModelVersion = apps.get_model("training", "ModelVersion")
    directory = settings.BUNDLED_MODEL_DIR
    card = json.loads((directory / "model_card.json").read_text())
    if ModelVersion.objects.filter(name=card["version"]).exists():
        return
    stored = {}
    for filename in ("model.keras", "model.tflite"):
        with open(directory / filename, "rb") as handle:
            stored[filename] = default_storage.save(f"models/{card['version']}/{filename}", File(handle))
    has_active = ModelVersion.objects.filter(status="active").exists()
    ModelVersion.objects.create(
        name=card["version"],
        keras_file=stored["model.keras"],
        tflite_file=stored["model.tflite"],
        status="retired" if has_active else "active",
        activated_at=None if has_active else timezone.now(),
        metrics=card.get("served_accuracy", {}),
        notes=BUNDLED_NOTES,
    )


class Migration(migrations.Migration):
    dependencies = [("training", "0001_initial")]

    operations = [migrations.RunPython(register_bundled_model, migrations.RunPython.noop)]
