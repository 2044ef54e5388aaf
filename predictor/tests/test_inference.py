"""The served LiteRT model answers what the Keras model does (its weights in 8 bits), once per process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from predictor import inference
from predictor.calibration import temper
from predictor.tests import renders

DIGITS, LABELS = renders.mnist_samples()


@pytest.fixture(scope="module")
def keras_model():
    import keras

    return keras.models.load_model(Path(settings.BUNDLED_MODEL_DIR) / "model.keras")


def test_litert_probabilities_match_keras(keras_model):
    """At the version's temperature (fitted on training data; predictor.calibration). The served
    file's weights are in 8 bits (training.export, where the float export is held to 1e-5): the
    same digit, each probability within 0.02."""
    classifier = inference.get_classifier()
    expected = temper(keras_model(DIGITS[..., None].astype("float32"), training=False).numpy(), classifier.temperature)
    for image, want in zip(DIGITS, expected):
        got = classifier.predict(pixels=image)
        assert got.digit == want.argmax()
        np.testing.assert_allclose(got.probabilities, want, atol=0.02)


def test_feature_maps_come_from_the_same_forward_pass(keras_model):
    from training.network import CONV_LAYER_NAMES, with_feature_maps

    expected = with_feature_maps(keras_model)(DIGITS[:1, ..., None].astype("float32"), training=False)
    prediction = inference.get_classifier().predict(pixels=DIGITS[0], with_feature_maps=True)
    assert tuple(prediction.feature_maps) == CONV_LAYER_NAMES
    for name in CONV_LAYER_NAMES:  # weights in 8 bits: within 3 % of the layer's range
        layer = expected[name][0].numpy()
        np.testing.assert_allclose(prediction.feature_maps[name], layer, atol=0.03 * np.abs(layer).max())
    without_maps = inference.get_classifier().predict(pixels=DIGITS[0])
    assert prediction.probabilities == without_maps.probabilities


def test_classifier_is_loaded_once_per_process(monkeypatch):
    first = inference.get_classifier()
    assert inference.get_classifier() is first
    monkeypatch.setattr(os, "getpid", lambda: -12345)  # as if this were a freshly forked worker
    forked = inference.get_classifier()
    assert forked is not first
    assert forked.predict(pixels=DIGITS[0]).digit == LABELS[0]


def test_serving_never_imports_tensorflow(tmp_path):
    script = (
        "import sys, django, os; django.setup();"
        "from predictor.reading import read_number;"
        "from predictor.tests import renders;"
        "from PIL import Image;"
        "d, _ = renders.mnist_samples();"
        "read_number(data=renders.encode(Image.fromarray(d[0])), feature_maps_for={0});"
        "import mnistsite.wsgi;"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules, 'plotly' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mnistsite.settings", "MEDIA_ROOT": str(tmp_path),
           "STATIC_ROOT": str(tmp_path / "static"), "SECRET_KEY": "test-" + "k" * 50}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False False False"
