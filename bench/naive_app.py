"""The baseline for bench/serve.py: the same app, but each request calls Keras `model.predict`,
as most MNIST web apps do. Used only by the benchmark, never deployed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

import modelfiles  # noqa: E402
from predictor import inference  # noqa: E402


class KerasPredictClassifier:
    def __init__(self) -> None:
        import keras

        directory = Path(settings.BUNDLED_MODEL_DIR)
        self.version = modelfiles.bundled_model_files(directory=directory).version + "-keras-predict"
        self.model = keras.models.load_model(directory / "model.keras")

    def predict(self, *, pixels: np.ndarray, with_feature_maps: bool = False) -> inference.Prediction:
        probabilities = self.model.predict(pixels.reshape(1, 28, 28, 1).astype("float32"), verbose=0)[0]
        digit = int(np.argmax(probabilities))
        return inference.Prediction(digit=digit, confidence=float(probabilities[digit]),
                                    probabilities=[float(p) for p in probabilities], model_version=self.version)


_classifier: dict[int, KerasPredictClassifier] = {}


def keras_classifier() -> KerasPredictClassifier:
    pid = os.getpid()  # loaded after the fork, like the real one
    if pid not in _classifier:
        _classifier[pid] = KerasPredictClassifier()
    return _classifier[pid]


inference.get_classifier = keras_classifier
import predictor.reading  # noqa: E402

predictor.reading.get_classifier = keras_classifier

from mnistsite.wsgi import application  # noqa: E402,F401
