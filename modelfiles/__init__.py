"""Finding a model version's files: the one home that serving, feedback and training all stand on.

Serving (`predictor.inference`) needs the active version's LiteRT file; training
(`training.registry`, `training.finetune`) needs a version's Keras file and the bundled model's
name. Both read it here, so neither app imports the other's modules to find a file.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

logger = logging.getLogger(__name__)

TFLITE_FILENAME = "model.tflite"
KERAS_FILENAME = "model.keras"
CARD_FILENAME = "model_card.json"


@dataclass(frozen=True)
class ModelFiles:
    version: str
    tflite_path: Path
    serve_from: float = 0.0  # wall-clock time (epoch seconds) from which every process serves it
    temperature: float = 1.0  # fitted on training data when the version was trained (predictor.calibration)


@functools.cache
def bundled_model_files(*, directory: Path) -> ModelFiles:
    """The model shipped with the code (read once: it does not change while a process runs)."""
    card = json.loads((directory / CARD_FILENAME).read_text())
    return ModelFiles(version=card["version"], tflite_path=directory / TFLITE_FILENAME,
                      temperature=float(card.get("temperature", 1.0)))


def bundled_version_name() -> str:
    from django.conf import settings

    return bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR)).version


def local_model_file(*, name: str, stored_name: str, filename: str) -> Path:
    """A local path to one of a version's files: the bundled copy for the bundled version, else a
    copy fetched once from storage (Cloud Storage on Cloud Run) into MODEL_CACHE_DIR."""
    from django.conf import settings
    from django.core.files.storage import default_storage

    if name == bundled_version_name():
        return Path(settings.BUNDLED_MODEL_DIR) / filename
    local = Path(settings.MODEL_CACHE_DIR) / name / filename
    if not local.is_file():
        local.parent.mkdir(parents=True, exist_ok=True)
        partial = local.with_name(f"{filename}.{os.getpid()}.part")
        with default_storage.open(stored_name, "rb") as source, open(partial, "wb") as target:
            shutil.copyfileobj(source, target)
        os.replace(partial, local)  # atomic: other processes never see half a file
    return local


def active_model_files() -> ModelFiles | None:
    """The version the database marks active, with a local copy of its file; None when the
    database cannot answer (then the process keeps serving what it has)."""
    from django.conf import settings
    from django.db import DatabaseError

    from training.models import ModelVersion

    try:
        row = (
            ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
            .values_list("name", "tflite_file", "activated_at", "metrics")
            .first()
        )
    except DatabaseError:
        logger.warning("cannot read the active model version; keeping the current model", exc_info=True)
        return None
    if row is None:
        return bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR))
    name, stored_name, activated_at, metrics = row
    # Every process that serves traffic has asked within MODEL_REFRESH_SECONDS of the activation,
    # so all of them can switch at this one instant instead of each at its own next check.
    serve_from = activated_at.timestamp() + settings.MODEL_REFRESH_SECONDS if activated_at else 0.0
    if name == bundled_version_name():  # its temperature is on its card
        return replace(bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR)), serve_from=serve_from)
    return ModelFiles(
        version=name,
        tflite_path=local_model_file(name=name, stored_name=stored_name, filename=TFLITE_FILENAME),
        serve_from=serve_from,
        temperature=float((metrics or {}).get("temperature", 1.0)),
    )
