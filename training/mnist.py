"""Loading MNIST from a local `mnist.npz` (Keras's layout), falling back to Keras's download."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


KEYS = ("x_train", "y_train", "x_test", "y_test")
#: The last this many training digits are validation data: choices are made on them, and the
#: detector and line readers never learn from them (the classifier only with `--hold-out-validation`).
VALIDATION_DIGITS = 5000


class MnistFileInvalid(ValueError):
    """The file exists but does not hold MNIST in Keras's `mnist.npz` layout; the message says how."""


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
        return MnistData(**_read_npz(path), source=str(path), sha256=file_sha256(path))
    if not allow_download:
        raise FileNotFoundError(f"MNIST file not found: {path}")
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return MnistData(x_train, y_train, x_test, y_test, source="keras.datasets.mnist", sha256=None)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The four arrays, checked, so a wrong file fails here with its reason and not deep in training."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in KEYS if key in data.files}
    except (OSError, ValueError, EOFError, TypeError, zipfile.BadZipFile) as error:  # TypeError: a bare .npy
        raise MnistFileInvalid(f"{path} cannot be read as an .npz file: {error}") from error
    missing = [key for key in KEYS if key not in arrays]
    if missing:
        raise MnistFileInvalid(f"{path} is not MNIST in Keras's mnist.npz layout: no {', '.join(missing)}.")
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or images.shape[1:] != (28, 28) or not len(images) or labels.shape != (len(images),):
            raise MnistFileInvalid(
                f"{path}: x_{split} must be N 28×28 pictures and y_{split} their N labels; "
                f"found {images.shape} and {labels.shape}."
            )
        if not (np.issubdtype(images.dtype, np.number) and np.issubdtype(labels.dtype, np.integer)) or not (
            0 <= labels.min() and labels.max() <= 9
        ):
            raise MnistFileInvalid(f"{path}: y_{split} must hold the digits 0 to 9 and x_{split} numbers.")
    return arrays
