"""Refusing what is not a digit: the bundled digit detector's verdict on a 28×28 picture.

The detector (`training.detector`) is a second, small LiteRT network that scores how much a
prepared picture looks like one whole digit rather than a letter, a sign, a doodle, part of a digit
or two digits that touch. Its refusal threshold was chosen on validation digits and is read from
its card. Like the classifier, it is loaded lazily in each process, after any fork.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

DETECTOR_FILENAME = "detector.tflite"
DETECTOR_CARD = "detector_card.json"
OUTPUT_NAME = "one_digit"
NOT_A_DIGIT = "No digit found: this looks like a letter, a sign or a drawing, not a digit."


class DigitDetector:
    """Thread-safe (calls take a lock, as LiteRT interpreters are not)."""

    def __init__(self, *, directory: Path, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        card = json.loads((directory / DETECTOR_CARD).read_text())
        self.threshold = float(card["threshold"])  # below: not a digit, refused
        self.unsure_below = float(card["unsure_below"])  # below: a doubtful digit, flagged unsure
        self._interpreter = Interpreter(model_path=str(directory / DETECTOR_FILENAME), num_threads=threads)
        self._interpreter.allocate_tensors()
        signature = self._interpreter.get_signature_runner()
        self._input = signature.get_input_details()["image"]["index"]
        self._output = signature.get_output_details()[OUTPUT_NAME]["index"]
        self._lock = threading.Lock()

    def score(self, pixels: np.ndarray) -> float:
        """How much the 28×28 uint8 picture looks like one whole digit, 0‥1."""
        batch = np.asarray(pixels, dtype=np.float32).reshape(1, 28, 28, 1)
        with self._lock:
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return float(self._interpreter.get_tensor(self._output)[0, 0])

    def is_digit(self, pixels: np.ndarray) -> bool:
        return self.score(pixels) >= self.threshold


_detectors: dict[int, DigitDetector] = {}
_lock = threading.Lock()


def get_detector() -> DigitDetector:
    """This process's detector (the bundled one), created on first use after any fork."""
    from django.conf import settings

    pid = os.getpid()
    detector = _detectors.get(pid)
    if detector is None:
        with _lock:
            detector = _detectors.get(pid)
            if detector is None:
                _detectors.clear()  # a forked worker drops its parent's
                detector = _detectors[pid] = DigitDetector(directory=Path(settings.BUNDLED_MODEL_DIR))
    return detector
