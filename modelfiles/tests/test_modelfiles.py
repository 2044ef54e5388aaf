"""Where model files are found, and that serving and training no longer import each other for it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

import modelfiles

ROOT = Path(__file__).resolve().parents[2]


def _imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("module", "must_not_import"),
    [
        ("predictor/inference.py", "training"),
        ("training/registry.py", "predictor"),
        ("modelfiles/__init__.py", "predictor"),
    ],
)
def test_finding_model_files_needs_no_import_between_serving_and_training(module, must_not_import):
    imported = _imported_modules(ROOT / module)
    assert not {name for name in imported if name == must_not_import or name.startswith(must_not_import + ".")}


def test_the_bundled_version_is_served_from_the_code(settings):
    files = modelfiles.bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR))
    assert files.version == modelfiles.bundled_version_name()
    assert files.tflite_path == Path(settings.BUNDLED_MODEL_DIR) / modelfiles.TFLITE_FILENAME
    assert modelfiles.local_model_file(name=files.version, stored_name="ignored", filename="model.keras") == (
        Path(settings.BUNDLED_MODEL_DIR) / "model.keras"
    )


def test_another_version_is_fetched_once_from_storage(settings, tmp_path):
    settings.MODEL_CACHE_DIR = tmp_path / "cache"
    stored = default_storage.save("models/v2/model.tflite", ContentFile(b"flatbuffer bytes"))
    local = modelfiles.local_model_file(name="v2", stored_name=stored, filename="model.tflite")
    assert local.read_bytes() == b"flatbuffer bytes"
    default_storage.delete(stored)  # a second call reads the local copy, not storage
    assert modelfiles.local_model_file(name="v2", stored_name=stored, filename="model.tflite") == local
    assert not list(local.parent.glob("*.part"))
