"""The base model bundled from 2026-11-29 on (the same trained network, its served file with
weights in 8 bits) reaches databases that registered an earlier one, as 0003–0005 did."""

import importlib

from django.db import migrations

upgrade = importlib.import_module("training.migrations.0003_upgrade_bundled_base_model")


class Migration(migrations.Migration):
    dependencies = [("training", "0005_upgrade_bundled_base_model")]

    operations = [migrations.RunPython(upgrade.register_current_bundled_model, migrations.RunPython.noop)]
