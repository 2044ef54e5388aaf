"""Fitting a model version's temperature on training data (`predictor.calibration` applies it).

The network is trained on augmented MNIST (and, when finetuned, on users' corrections): its
confidence should mean what it says on pictures like those. So the temperature is fitted, by
maximum likelihood, on the training pictures as training shows them (styled and augmented with
the same recipe, drawn with another seed), never on a test set.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

from predictor.calibration import temper

#: Temperatures outside this range would mean a broken model, not a miscalibrated one.
TEMPERATURE_RANGE = (0.25, 8.0)
CALIBRATION_PICTURES = 10_000


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that maximises the likelihood of `labels` under `probabilities` (N, 10)."""
    probabilities, labels = np.asarray(probabilities, dtype=np.float64), np.asarray(labels)

    def negative_log_likelihood(log_temperature: float) -> float:
        tempered = temper(probabilities, math.exp(log_temperature))
        return -float(np.mean(np.log(np.clip(tempered[np.arange(len(labels)), labels], 1e-12, 1.0))))

    low, high = (math.log(value) for value in TEMPERATURE_RANGE)
    result = minimize_scalar(negative_log_likelihood, bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return round(math.exp(result.x), 4)


def calibration_pictures(
    x: np.ndarray, y: np.ndarray, *, seed: int, count: int = CALIBRATION_PICTURES
) -> tuple[np.ndarray, np.ndarray]:
    """`count` of the training pictures `x`, augmented as training augments them (another draw)."""
    import tensorflow as tf

    from training.augment import AugmentConfig, augment_batch

    chosen = np.random.default_rng(seed).choice(len(x), size=min(count, len(x)), replace=False)
    images = tf.constant(x[chosen][..., None], dtype=tf.float32)
    augmented = augment_batch(images, tf.constant([seed, 7_919], dtype=tf.int64), AugmentConfig()).numpy()[..., 0]
    return np.clip(np.round(augmented), 0, 255).astype(np.uint8), y[chosen]


def model_temperature(model, x: np.ndarray, y: np.ndarray, *, seed: int) -> float:
    """A Keras model's temperature, fitted on its training pictures `x`, `y` (see the module's doc)."""
    images, labels = calibration_pictures(x, y, seed=seed)
    batch = images[..., None].astype("float32")
    probabilities = np.concatenate([model(batch[i : i + 2000], training=False).numpy() for i in range(0, len(batch), 2000)])
    return fit_temperature(probabilities, labels)
