"""The base model bundled from 2026-11-30 on (trained with a quarter of its digits as 16×16 scans)
reaches databases that registered an earlier one, as 0003–0006 did."""

import importlib

from django.db import migrations

upgrade = importlib.import_module("training.migrations.0003_upgrade_bundled_base_model")


class Migration(migrations.Migration):
    dependencies = [("training", "0006_upgrade_bundled_base_model")]

    operations = [migrations.RunPython(upgrade.register_current_bundled_model, migrations.RunPython.noop)]
