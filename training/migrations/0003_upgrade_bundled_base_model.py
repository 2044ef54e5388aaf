"""A newer bundled base model reaches databases that registered an older one.

Fresh databases get the bundled model from 0002. One created with an earlier bundled model keeps
serving that until told otherwise, so here the current bundled model is registered too and, if a
bundled base model is what serves (no finetuned version has been promoted), it takes over. A
finetuned version that serves stays; the new base waits, retired, for staff to activate it.
"""

import importlib
import json

from django.conf import settings
from django.db import migrations

from training.registry import BUNDLED_NOTES

register_bundled_model = importlib.import_module("training.migrations.0002_register_bundled_model").register_bundled_model


def register_current_bundled_model(apps, schema_editor):
    ModelVersion = apps.get_model("training", "ModelVersion")
    card = json.loads((settings.BUNDLED_MODEL_DIR / "model_card.json").read_text())
    if ModelVersion.objects.filter(name=card["version"]).exists():
        return
    # Retiring an older bundled base first makes 0002's registration activate the new one.
    ModelVersion.objects.filter(status="active", notes=BUNDLED_NOTES).update(status="retired")
    register_bundled_model(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("training", "0002_register_bundled_model")]

    operations = [migrations.RunPython(register_current_bundled_model, migrations.RunPython.noop)]
