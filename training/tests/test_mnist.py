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
