"""Loading MNIST from a local `mnist.npz` (Keras's layout), falling back to Keras's download."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class MnistData:
    x_train: np.ndarray  # uint8 (N, 28, 28), white ink on black, as MNIST stores it
    y_train: np.ndarray  # uint8 (N,)
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # the file read, or "keras.datasets.mnist"
    sha256: str | None  # of the file read; None when Keras's loader supplied the data


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_mnist(*, path: str | Path | None = None, allow_download: bool = True) -> MnistData:
    """Read `path` when it exists; otherwise, for users who are online, Keras's own loader.

    A path that was asked for but does not exist is an error unless `allow_download` is set,
    so a typo never silently triggers a download.
    """
    if path is not None and Path(path).is_file():
        path = Path(path)
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in ("x_train", "y_train", "x_test", "y_test")}
        return MnistData(**arrays, source=str(path), sha256=file_sha256(path))
    if not allow_download:
        raise FileNotFoundError(f"MNIST file not found: {path}")
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return MnistData(x_train, y_train, x_test, y_test, source="keras.datasets.mnist", sha256=None)
