from __future__ import annotations

import numpy as np
import pytest

from training import mnist


def test_loads_the_file_and_records_its_hash(mnist_path):
    data = mnist.load_mnist(path=mnist_path)
    assert data.x_train.shape == (60000, 28, 28) and data.x_test.shape == (10000, 28, 28)
    assert data.y_train.dtype == np.uint8 and set(np.unique(data.y_test)) == set(range(10))
    assert data.source == str(mnist_path)
    assert data.sha256 == mnist.file_sha256(mnist_path) and len(data.sha256) == 64


def test_missing_file_is_an_error_when_downloads_are_off(tmp_path):
    with pytest.raises(FileNotFoundError):
        mnist.load_mnist(path=tmp_path / "nope.npz", allow_download=False)


def test_falls_back_to_keras_loader(monkeypatch, tmp_path):
    import keras

    fake = ((np.zeros((2, 28, 28), np.uint8), np.array([1, 2], np.uint8)),
            (np.zeros((1, 28, 28), np.uint8), np.array([3], np.uint8)))
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: fake)
    data = mnist.load_mnist(path=tmp_path / "absent.npz")
    assert data.source == "keras.datasets.mnist" and data.sha256 is None
    assert list(data.y_train) == [1, 2]


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _split(count: int, labels=None) -> dict[str, np.ndarray]:
    labels = np.arange(count) % 10 if labels is None else labels
    return {"x": np.zeros((count, 28, 28), np.uint8), "y": np.asarray(labels, np.uint8)}


def _valid(count: int = 3) -> dict[str, np.ndarray]:
    train, test = _split(count), _split(count)
    return {"x_train": train["x"], "y_train": train["y"], "x_test": test["x"], "y_test": test["y"]}


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda path: path.write_bytes(b"not an npz") and path, "cannot be read"),
        (lambda path: path.write_bytes(b"PK\x03\x04 truncated zip") and path, "cannot be read"),
        (lambda path: np.save(path.open("wb"), np.zeros((3, 28, 28))) or path, "cannot be read"),
        (lambda path: _npz(path, a=np.zeros(3)), "no x_train, y_train, x_test, y_test"),
        (lambda path: _npz(path, **{**_valid(), "x_test": np.zeros((3, 5))}), "28×28"),
        (lambda path: _npz(path, **{**_valid(), "y_train": np.zeros(2, np.uint8)}), "N labels"),
        (lambda path: _npz(path, **{**_valid(), "y_test": np.array([0, 1, 12], np.uint8)}), "digits 0 to 9"),
        (lambda path: _npz(path, **{**_valid(), "y_test": np.array([0.0, 1.0, 2.0])}), "digits 0 to 9"),
    ],
    ids=["garbage", "truncated zip", "a bare .npy", "other arrays", "wrong picture shape", "label count", "label 12", "float labels"],
)
def test_a_file_that_is_not_mnist_is_refused_with_its_reason(tmp_path, make, reason):
    path = make(tmp_path / "data.npz")
    with pytest.raises(mnist.MnistFileInvalid, match=reason):
        mnist.load_mnist(path=path)


def test_a_small_file_in_the_layout_loads(tmp_path):
    data = mnist.load_mnist(path=_npz(tmp_path / "data.npz", **_valid(5)))
    assert data.x_train.shape == (5, 28, 28) and list(data.y_test) == [0, 1, 2, 3, 4]
