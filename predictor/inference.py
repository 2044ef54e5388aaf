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

from modelfiles import ActiveVersion, ModelFiles, active_version, bundled_model_files, fetch_model_files
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


@dataclass(frozen=True)
class LoadFailure:
    """A version this process could not load, and when it may try again."""

    version: str
    error: str
    attempts: int
    retry_at: float  # time.monotonic()


#: The first retry of a version that failed to load waits this long; each further one twice as long.
FIRST_RETRY_SECONDS = 5.0
LONGEST_RETRY_SECONDS = 300.0


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
        self.failure: LoadFailure | None = None

    def switch_if_due(self) -> None:
        if self.next is not None and time.time() >= self.next_from:
            self.classifier, self.next, self.next_from = self.next, None, float("inf")
            logger.info("serving model version %s", self.classifier.version)

    def follow(self, active: ActiveVersion) -> None:
        """Serve `active` as decided: keep it, switch to it at its instant, or load it."""
        if self.failure is not None and self.failure.version != active.name:
            self.failure = None  # that version is no longer the active one
        if self.next is not None and self.next.version == active.name:
            self.switch_if_due()
            return
        self.next, self.next_from = None, float("inf")  # rolled back or replaced before the switch
        if self.classifier is not None and self.classifier.version == active.name:
            return
        loaded = self.load(active)
        if loaded is None:
            return
        if self.classifier is None:  # a new process serves what is active now
            self.classifier = loaded
            logger.info("serving model version %s", loaded.version)
        else:
            self.next, self.next_from = loaded, active.serve_from
            self.switch_if_due()

    def load(self, active: ActiveVersion) -> DigitClassifier | None:
        """`active` loaded; None, logged and remembered with a back-off, when that fails."""
        failure = self.failure
        if failure is not None and time.monotonic() < failure.retry_at:
            return None
        try:
            loaded = DigitClassifier(files=fetch_model_files(active))
        except Exception as error:  # noqa: BLE001 - storage down, a corrupt or foreign file: many kinds
            self.failed(active.name, error, previous=failure)
            return None
        self.failure = None
        return loaded

    def failed(self, version: str, error: Exception, *, previous: LoadFailure | None) -> None:
        attempts = previous.attempts + 1 if previous is not None else 1
        delay = min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), LONGEST_RETRY_SECONDS)
        self.failure = LoadFailure(version=version, error=str(error), attempts=attempts,
                                   retry_at=time.monotonic() + delay)
        logger.error("cannot load model version %s (attempt %d; next try in %.0f s); serving %s",
                     version, attempts, delay, self.classifier.version if self.classifier else "the bundled model",
                     exc_info=error)


_state = _ProcessState()


def get_classifier() -> DigitClassifier:
    """This process's classifier: created after any fork. Another version activated in the
    database is loaded at the next check (every MODEL_REFRESH_SECONDS) and served from its
    activation time plus that interval, the same instant in every worker of every instance, so
    answers do not flip between versions while processes catch up; the database is asked again at
    that instant, so a version rolled back meanwhile is never served.

    A version that cannot be loaded (storage down, corrupt file) never takes the service down: the
    loaded model goes on serving (a new process serves the bundled one), the failure is logged and
    tried again with a growing delay, and `serving_status` reports it."""
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
        switch_due = time.time() >= _state.next_from
        if _state.classifier is not None and now - _state.checked_at < settings.MODEL_REFRESH_SECONDS and not switch_due:
            return _state.classifier
        active = active_version()
        _state.checked_at = time.monotonic()
        if active is None:  # the database cannot answer: keep to what was decided
            _state.switch_if_due()
        else:
            _state.follow(active)
        if _state.classifier is None:
            _state.classifier = DigitClassifier(files=bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR)))
            logger.warning("serving the bundled model version %s", _state.classifier.version)
        return _state.classifier


def serving_status() -> dict:
    """What /healthz tells: the version served and, if any, the active one that could not be loaded."""
    classifier = get_classifier()
    status = {"model_version": classifier.version}
    failure = _state.failure
    if failure is not None:
        status["model_load_failure"] = {"version": failure.version, "error": failure.error,
                                        "attempts": failure.attempts}
    return status
