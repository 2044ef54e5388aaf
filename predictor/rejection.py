"""Refusing what is not a digit: the bundled digit detector's verdict on a 28×28 picture.

The detector (`training.detector`) is a second, small LiteRT network that scores how much a
prepared picture looks like one whole digit rather than a letter, a sign, a doodle, part of a digit
or two digits that touch. Its refusal threshold was chosen on validation digits and is read from
its card. A twin network trained by the same recipe, the segment scorer, also learnt the pieces
the segmenter cuts out of numbers; it judges which pieces make whole digits when a number is
joined (`predictor.segmentation`), and the detector alone decides what is refused. Like the
classifier, both are loaded lazily in each process, after any fork (`bundled_network`, which
loads the line reader of `predictor.line_reading` too).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

#: The bundled networks of this shape, by name: `<name>.tflite` beside its card `<name>_card.json`.
DETECTOR = "detector"
SEGMENT_SCORER = "segment_scorer"
OUTPUT_NAME = "one_digit"
NOT_A_DIGIT = "No digit found: this looks like a letter, a sign or a drawing, not a digit."


def network_files(name: str) -> tuple[str, str]:
    """The LiteRT file's and the card's names for the network `name`."""
    return f"{name}.tflite", f"{name}_card.json"


class SignatureNetwork:
    """A LiteRT network with one signature of one input and one output, run on one picture at a
    time. Thread-safe (calls take a lock, as LiteRT interpreters are not)."""

    def __init__(self, *, path: Path, input_name: str, output_name: str, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self._interpreter.allocate_tensors()
        signature = self._interpreter.get_signature_runner()
        source = signature.get_input_details()[input_name]
        self._input, self._shape = source["index"], tuple(source["shape"])
        self._output = signature.get_output_details()[output_name]["index"]
        self._lock = threading.Lock()

    def output(self, picture: np.ndarray) -> np.ndarray:
        """The network's output for one picture (its batch dimension dropped)."""
        batch = np.asarray(picture, dtype=np.float32).reshape(self._shape)
        with self._lock:
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output)[0].copy()


class NetworkScores(SignatureNetwork):
    """A network of the detector's shape: its score for a prepared picture, as serving computes it."""

    def __init__(self, *, path: Path, threads: int = 1):
        super().__init__(path=path, input_name="image", output_name=OUTPUT_NAME, threads=threads)

    def score(self, pixels: np.ndarray) -> float:
        """How much the 28×28 uint8 picture looks like one whole digit, 0‥1."""
        return float(self.output(pixels)[0])


class DigitDetector(NetworkScores):
    """A bundled network with the thresholds its card holds."""

    def __init__(self, *, directory: Path, name: str = DETECTOR, threads: int = 1):
        filename, card_name = network_files(name)
        card = json.loads((directory / card_name).read_text())
        self.threshold = float(card["threshold"])  # below: not a digit, refused
        self.unsure_below = float(card["unsure_below"])  # below: a doubtful digit, flagged unsure
        super().__init__(path=directory / filename, threads=threads)

    def is_digit(self, pixels: np.ndarray) -> bool:
        return self.score(pixels) >= self.threshold


Network = TypeVar("Network", bound="SignatureNetwork")
_loaded: dict[tuple[int, str], SignatureNetwork] = {}
_lock = threading.Lock()


def bundled_network(name: str, make: Callable[[Path], Network]) -> Network:
    """This process's copy of the bundled network `name`, made by `make(directory)` from the
    bundled model directory on first use after any fork."""
    from django.conf import settings

    key = (os.getpid(), name)
    network = _loaded.get(key)
    if network is None:
        with _lock:
            network = _loaded.get(key)
            if network is None:
                for stale in [k for k in _loaded if k[0] != key[0]]:  # a forked worker drops its parent's
                    del _loaded[stale]
                network = _loaded[key] = make(Path(settings.BUNDLED_MODEL_DIR))
    return network


def get_detector() -> DigitDetector:
    """The bundled digit detector: refuses non-digits, flags doubtful ones."""
    return bundled_network(DETECTOR, lambda directory: DigitDetector(directory=directory, name=DETECTOR))


def get_segment_scorer() -> DigitDetector:
    """The bundled segment scorer: how much a piece cut out of a number looks like one whole digit."""
    return bundled_network(SEGMENT_SCORER, lambda directory: DigitDetector(directory=directory, name=SEGMENT_SCORER))
