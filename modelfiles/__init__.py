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


class ModelFilesUnavailable(RuntimeError):
    """A version's files cannot be had (storage down, file missing) or are not a usable model."""

    def __init__(self, message: str, *, version: str):
        super().__init__(message)
        self.version = version


def check_litert_file(*, path: Path, version: str) -> None:
    """Load a LiteRT file and run one blank picture through it, as serving will: refuses a corrupt
    or foreign file (ModelFilesUnavailable) before it is registered or served."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    try:
        runner = Interpreter(model_path=str(path)).get_signature_runner()
        probabilities = np.asarray(runner(image=np.zeros((1, 28, 28, 1), np.float32))["probabilities"])
    except Exception as error:  # noqa: BLE001 - the runtime raises ValueError, RuntimeError, KeyError…
        raise ModelFilesUnavailable(f"{path.name} is not a usable model: {error}", version=version) from error
    if probabilities.shape != (1, 10) or not np.isfinite(probabilities).all() or abs(probabilities.sum() - 1) > 1e-3:
        raise ModelFilesUnavailable(f"{path.name} does not answer ten probabilities", version=version)


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


@dataclass(frozen=True)
class ActiveVersion:
    """The database's answer to "which version serves?", before any file is fetched."""

    name: str
    stored_name: str  # its LiteRT file in storage ("" for the bundled model without a record)
    serve_from: float  # wall-clock time (epoch seconds) from which every process serves it
    temperature: float


def active_version() -> ActiveVersion | None:
    """The version the database marks active (the bundled one when none is); None when the
    database cannot answer (then a process keeps serving what it has)."""
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
    bundled = bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR))
    if row is None:
        return ActiveVersion(name=bundled.version, stored_name="", serve_from=0.0, temperature=bundled.temperature)
    name, stored_name, activated_at, metrics = row
    # Every process that serves traffic has asked within MODEL_REFRESH_SECONDS of the activation,
    # so all of them can switch at this one instant instead of each at its own next check.
    serve_from = activated_at.timestamp() + settings.MODEL_REFRESH_SECONDS if activated_at else 0.0
    temperature = bundled.temperature if name == bundled.version else float((metrics or {}).get("temperature", 1.0))
    return ActiveVersion(name=name, stored_name=stored_name, serve_from=serve_from, temperature=temperature)


def fetch_model_files(active: ActiveVersion) -> ModelFiles:
    """`active`'s files with a local copy of its LiteRT file (the bundled model's is in the code);
    ModelFilesUnavailable when it cannot be fetched."""
    from django.conf import settings

    if active.name == bundled_version_name():
        return replace(bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR)), serve_from=active.serve_from)
    try:
        tflite_path = local_model_file(name=active.name, stored_name=active.stored_name, filename=TFLITE_FILENAME)
    except Exception as error:  # noqa: BLE001 - storage errors come in many types (OSError, google.api_core…)
        raise ModelFilesUnavailable(f"cannot fetch {active.stored_name}: {error}", version=active.name) from error
    return ModelFiles(version=active.name, tflite_path=tflite_path, serve_from=active.serve_from,
                      temperature=active.temperature)
