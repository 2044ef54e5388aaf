"""The base model bundled from the eighth session on (the last conv block's map flattened, not
averaged) reaches databases that registered an earlier one, as 0003 and 0004 did."""

import importlib

from django.db import migrations

upgrade = importlib.import_module("training.migrations.0003_upgrade_bundled_base_model")


class Migration(migrations.Migration):
    dependencies = [("training", "0004_upgrade_bundled_base_model")]

    operations = [migrations.RunPython(upgrade.register_current_bundled_model, migrations.RunPython.noop)]
