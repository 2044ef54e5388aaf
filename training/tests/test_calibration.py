"""Fitting a version's temperature on training data."""

from __future__ import annotations

import numpy as np
import pytest

from predictor.calibration import temper
from training.calibration import calibration_pictures, fit_temperature


@pytest.mark.parametrize("overconfidence", [0.5, 1.0, 2.5])
def test_the_fitted_temperature_undoes_a_known_miscalibration(overconfidence):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2.0, (20_000, 10))
    calibrated = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in calibrated])  # drawn from the calibrated answer
    shown = temper(calibrated, 1.0 / overconfidence)  # what a miscalibrated network would answer
    assert fit_temperature(shown, labels) == pytest.approx(overconfidence, rel=0.05)


def test_calibration_pictures_are_augmented_training_pictures():
    from predictor.tests import renders

    digits, labels = renders.mnist_samples()
    images, chosen_labels = calibration_pictures(digits, labels, seed=3, count=12)
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    assert set(chosen_labels.tolist()) <= set(labels.tolist())
    assert not any((image == digit).all() for image in images for digit in digits), "each one augmented"
