"""The classifier's served LiteRT file: weights in 8 bits, reading as the trained Keras model does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from predictor.tests import renders
from training.export import export_tflite
from training.network import CONV_LAYER_NAMES, with_feature_maps
from training.tests.litert import int8_tensors

DIGITS, LABELS = renders.mnist_samples()


@pytest.fixture(scope="module")
def keras_model():
    import keras

    return keras.models.load_model(Path(settings.BUNDLED_MODEL_DIR) / "model.keras")


@pytest.fixture(scope="module")
def exports(keras_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    return (export_tflite(model=keras_model, path=folder / "default.tflite"),
            export_tflite(model=keras_model, path=folder / "float.tflite", quantized=False))


def _served(path: Path) -> list[dict[str, np.ndarray]]:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    return [runner(image=digit.astype(np.float32).reshape(1, 28, 28, 1)) for digit in DIGITS]


def test_export_writes_weights_in_8_bits_unless_told_not_to(exports):
    quantized, exact = exports
    assert int8_tensors(quantized) >= 3 and not int8_tensors(exact)  # conv2–conv4 and the dense layer
    assert quantized.stat().st_size < exact.stat().st_size / 3


def test_the_float_export_answers_what_keras_does(keras_model, exports):
    expected = with_feature_maps(keras_model)(DIGITS[..., None].astype("float32"), training=False)
    for index, served in enumerate(_served(exports[1])):
        np.testing.assert_allclose(served["probabilities"][0], expected["probabilities"][index].numpy(), atol=1e-5)


def test_the_8_bit_export_reads_as_keras_does(keras_model, exports):
    """The same digits, each probability within 0.02 (the largest difference over the 5,000
    validation digits was 0.019, docs/model.md), each feature map within 3 % of its layer's range."""
    expected = with_feature_maps(keras_model)(DIGITS[..., None].astype("float32"), training=False)
    for index, served in enumerate(_served(exports[0])):
        want = expected["probabilities"][index].numpy()
        assert served["probabilities"][0].argmax() == want.argmax() == LABELS[index]
        np.testing.assert_allclose(served["probabilities"][0], want, atol=0.02)
        for name in CONV_LAYER_NAMES:
            layer = expected[name][index].numpy()
            np.testing.assert_allclose(served[name][0], layer, atol=0.03 * np.abs(layer).max())
