"""A newer bundled base model reaches databases that registered an older one.

Fresh databases get the bundled model from 0002. One created with an earlier bundled model keeps
serving that until told otherwise, so here the current bundled model is registered too and, if a
bundled base model is what serves (no finetuned version has been promoted), it takes over. A
finetuned version that serves stays; the new base waits, retired, for staff to activate it.
"""

import json

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import migrations
from django.utils import timezone

BUNDLED_NOTES = "The base model trained on MNIST and bundled with the code."


def register_current_bundled_model(apps, schema_editor):
    ModelVersion = apps.get_model("training", "ModelVersion")
    card = json.loads((settings.BUNDLED_MODEL_DIR / "model_card.json").read_text())
    if ModelVersion.objects.filter(name=card["version"]).exists():
        return
    stored = {}
    for filename in ("model.keras", "model.tflite"):
        with open(settings.BUNDLED_MODEL_DIR / filename, "rb") as handle:
            stored[filename] = default_storage.save(f"models/{card['version']}/{filename}", File(handle))
    active = ModelVersion.objects.filter(status="active").first()
    takes_over = active is None or active.notes == BUNDLED_NOTES
    if takes_over and active is not None:
        ModelVersion.objects.filter(pk=active.pk).update(status="retired")
    ModelVersion.objects.create(
        name=card["version"],
        keras_file=stored["model.keras"],
        tflite_file=stored["model.tflite"],
        status="active" if takes_over else "retired",
        activated_at=timezone.now() if takes_over else None,
        metrics=card.get("served_accuracy", {}),
        notes=BUNDLED_NOTES,
    )


class Migration(migrations.Migration):
    dependencies = [("training", "0002_register_bundled_model")]

    operations = [migrations.RunPython(register_current_bundled_model, migrations.RunPython.noop)]
