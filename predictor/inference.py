"""Running the classifier: one LiteRT interpreter per process, loaded lazily after any fork.

The server never imports TensorFlow. A LiteRT flatbuffer exported at training time answers the
probabilities and every conv layer's activations in the same forward pass, in tens of
microseconds. The interpreter is created on first use in each process (checked by pid), so a
gunicorn master that preloads the app never hands a live runtime to its forked workers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelfiles import ModelFiles, active_model_files, bundled_model_files
from predictor.calibration import temper

PROBABILITIES = "probabilities"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    digit: int
    confidence: float
    probabilities: list[float]
    model_version: str
    feature_maps: dict[str, np.ndarray] = field(default_factory=dict)  # name → (H, W, C) float32


class DigitClassifier:
    """A loaded model; thread-safe (LiteRT interpreters are not, so calls take a lock)."""

    def __init__(self, *, files: ModelFiles, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self.version = files.version
        self.temperature = files.temperature
        self._interpreter = Interpreter(model_path=str(files.tflite_path), num_threads=threads)
        self._interpreter.allocate_tensors()
        # Tensors by signature name; read directly so a plain prediction copies out only its ten
        # probabilities, not the 150 KB of feature maps the same pass leaves behind.
        signature = self._interpreter.get_signature_runner()
        self._input = signature.get_input_details()["image"]["index"]
        self._outputs = {name: detail["index"] for name, detail in signature.get_output_details().items()}
        self._lock = threading.Lock()
        self.conv_layers = tuple(name for name in sorted(self._outputs) if name != PROBABILITIES)

    def predict(self, *, pixels: np.ndarray, with_feature_maps: bool = False) -> Prediction:
        """`pixels`: the 28×28 uint8 picture from preprocessing."""
        batch = np.asarray(pixels, dtype=np.float32).reshape(1, 28, 28, 1)
        with self._lock:
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            probabilities = temper(self._interpreter.get_tensor(self._outputs[PROBABILITIES])[0], self.temperature)
            maps = {
                name: self._interpreter.get_tensor(self._outputs[name])[0] for name in self.conv_layers
            } if with_feature_maps else {}
        digit = int(np.argmax(probabilities))
        return Prediction(
            digit=digit,
            confidence=float(probabilities[digit]),
            probabilities=[float(p) for p in probabilities],
            model_version=self.version,
            feature_maps=maps,
        )


class _ProcessState:
    """This process's classifier and when the database was last asked which version is active."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.start(pid=None)

    def start(self, *, pid: int | None) -> None:
        """Nothing loaded yet in process `pid` (a forked worker inherits its parent's state)."""
        self.pid = pid
        self.classifier: DigitClassifier | None = None
        self.checked_at = float("-inf")
        self.next: DigitClassifier | None = None  # activated, loaded, served from `next_from`
        self.next_from = float("inf")

    def switch_if_due(self) -> None:
        if self.next is not None and time.time() >= self.next_from:
            self.classifier, self.next, self.next_from = self.next, None, float("inf")
            logger.info("serving model version %s", self.classifier.version)


_state = _ProcessState()


def get_classifier() -> DigitClassifier:
    """This process's classifier: created after any fork. Another version activated in the
    database is loaded at the next check (every MODEL_REFRESH_SECONDS) and served from its
    activation time plus that interval, the same instant in every worker of every instance, so
    answers do not flip between versions while processes catch up."""
    from django.conf import settings

    now = time.monotonic()
    classifier = _state.classifier
    if (
        classifier is not None
        and _state.pid == os.getpid()
        and now - _state.checked_at < settings.MODEL_REFRESH_SECONDS
        and time.time() < _state.next_from
    ):
        return classifier
    with _state.lock:
        if _state.pid != os.getpid():
            _state.start(pid=os.getpid())
        _state.switch_if_due()
        if _state.classifier is not None and now - _state.checked_at < settings.MODEL_REFRESH_SECONDS:
            return _state.classifier
        files = active_model_files()
        _state.checked_at = time.monotonic()
        if files is None:
            if _state.classifier is not None:
                return _state.classifier
            files = bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR))
        if _state.classifier is None:  # a new process serves what is active now
            _state.classifier = DigitClassifier(files=files)
            logger.info("serving model version %s", files.version)
        elif _state.classifier.version == files.version:
            _state.next, _state.next_from = None, float("inf")  # e.g. rolled back before the switch
        elif _state.next is None or _state.next.version != files.version:
            _state.next, _state.next_from = DigitClassifier(files=files), files.serve_from
            _state.switch_if_due()
        return _state.classifier
