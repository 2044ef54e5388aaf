"""Running the classifier: one LiteRT interpreter per process, loaded lazily after any fork.

The server never imports TensorFlow. A LiteRT flatbuffer exported at training time answers the
probabilities and every conv layer's activations in the same forward pass, in tens of
microseconds. The interpreter is created on first use in each process (checked by pid), so a
gunicorn master that preloads the app never hands a live runtime to its forked workers.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PROBABILITIES = "probabilities"


@dataclass(frozen=True)
class Prediction:
    digit: int
    confidence: float
    probabilities: list[float]
    model_version: str
    feature_maps: dict[str, np.ndarray] = field(default_factory=dict)  # name → (H, W, C) float32


@dataclass(frozen=True)
class ModelFiles:
    version: str
    tflite_path: Path


class DigitClassifier:
    """A loaded model; thread-safe (LiteRT interpreters are not, so calls take a lock)."""

    def __init__(self, *, files: ModelFiles, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.version = files.version
        self._interpreter = Interpreter(model_path=str(files.tflite_path), num_threads=threads)
        self._runner = self._interpreter.get_signature_runner()
        self._lock = threading.Lock()
        self.conv_layers = tuple(
            name for name in sorted(self._runner.get_output_details()) if name != PROBABILITIES
        )

    def predict(self, *, pixels: np.ndarray, with_feature_maps: bool = False) -> Prediction:
        """`pixels`: the 28×28 uint8 picture from preprocessing."""
        batch = np.asarray(pixels, dtype=np.float32).reshape(1, 28, 28, 1)
        with self._lock:
            outputs = self._runner(image=batch)
        probabilities = outputs[PROBABILITIES][0].astype(np.float64)
        digit = int(np.argmax(probabilities))
        maps = {name: outputs[name][0] for name in self.conv_layers} if with_feature_maps else {}
        return Prediction(
            digit=digit,
            confidence=float(probabilities[digit]),
            probabilities=[float(p) for p in probabilities],
            model_version=self.version,
            feature_maps=maps,
        )


def bundled_model_files(*, directory: Path) -> ModelFiles:
    card = json.loads((directory / "model_card.json").read_text())
    return ModelFiles(version=card["version"], tflite_path=directory / "model.tflite")


_loaded: dict[str, object] = {}
_load_lock = threading.Lock()


def get_classifier() -> DigitClassifier:
    """This process's classifier, created on first use after any fork."""
    from django.conf import settings

    pid = os.getpid()
    classifier = _loaded.get("classifier")
    if classifier is not None and _loaded.get("pid") == pid:
        return classifier  # type: ignore[return-value]
    with _load_lock:
        if _loaded.get("pid") != pid or "classifier" not in _loaded:
            files = bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR))
            _loaded.update(classifier=DigitClassifier(files=files), pid=pid)
        return _loaded["classifier"]  # type: ignore[return-value]
