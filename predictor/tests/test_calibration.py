"""A version's temperature: applied to what is served, and how calibration is measured."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings

from modelfiles import ModelFiles, bundled_model_files
from predictor.calibration import expected_calibration_error, temper
from predictor.inference import DigitClassifier
from predictor.tests import renders

DIGITS, _ = renders.mnist_samples()


def test_temperature_one_changes_nothing_and_no_temperature_changes_the_order():
    probabilities = np.array([0.05, 0.7, 0.25])
    np.testing.assert_allclose(temper(probabilities, 1.0), probabilities)
    for temperature in (0.5, 2.0):
        tempered = temper(probabilities, temperature)
        assert tempered.sum() == pytest.approx(1.0)
        assert list(np.argsort(tempered)) == list(np.argsort(probabilities))
    assert temper(probabilities, 2.0).max() < 0.7 < temper(probabilities, 0.5).max()


def test_expected_calibration_error():
    rng = np.random.default_rng(0)
    confidences = rng.uniform(0.5, 1.0, 200_000)
    calibrated = rng.random(confidences.size) < confidences  # right exactly as often as it says
    assert expected_calibration_error(confidences, calibrated) < 0.005
    overconfident = rng.random(confidences.size) < confidences - 0.1
    assert expected_calibration_error(confidences, overconfident) == pytest.approx(0.1, abs=0.01)


def test_served_probabilities_are_the_networks_at_the_versions_temperature():
    from pathlib import Path

    bundled = bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR))
    plain = DigitClassifier(files=ModelFiles(version="t1", tflite_path=bundled.tflite_path, temperature=1.0))
    softer = DigitClassifier(files=ModelFiles(version="t3", tflite_path=bundled.tflite_path, temperature=3.0))
    for image in DIGITS[:5]:
        raw, tempered = plain.predict(pixels=image), softer.predict(pixels=image)
        np.testing.assert_allclose(tempered.probabilities, temper(np.array(raw.probabilities), 3.0), atol=1e-9)
        assert tempered.digit == raw.digit and tempered.confidence < raw.confidence


def test_the_bundled_version_serves_with_the_temperature_on_its_card():
    import json
    from pathlib import Path

    card = json.loads((Path(settings.BUNDLED_MODEL_DIR) / "model_card.json").read_text())
    assert bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR)).temperature == card["temperature"]
