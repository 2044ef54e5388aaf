"""How `predictor.reading` chooses among readings of one small picture."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from predictor.preprocessing import prepare_digit
from predictor.reading import NARROWED_RELIABILITY, _lone_digit
from predictor.tests import renders

DIGITS, LABELS = renders.mnist_samples()


def _ink_width(pixels: np.ndarray) -> int:
    return int(np.count_nonzero(pixels.max(0)))


def test_a_stretched_digit_keeps_the_reading_judged_best_times_its_reliability():
    image = Image.open(io.BytesIO(renders.stretched_scan(DIGITS[int(np.flatnonzero(LABELS == 0)[0])])))
    narrowest = _lone_digit(image, judge=lambda pixels: 1.0 / _ink_width(pixels))
    assert narrowest.reliability == NARROWED_RELIABILITY[-1]
    assert _ink_width(narrowest.pixels) < _ink_width(prepare_digit(image))
    widest = _lone_digit(image, judge=lambda pixels: float(_ink_width(pixels)))
    assert widest.reliability == 1.0
    assert np.array_equal(widest.pixels, prepare_digit(image))


def test_a_readings_discount_counts_when_they_are_compared():
    """Judged alike, the picture as it is wins: a narrowed reading must be better by more than
    its discount."""
    image = Image.open(io.BytesIO(renders.stretched_scan(DIGITS[0])))
    kept = _lone_digit(image, judge=lambda pixels: 0.9)
    assert kept.reliability == 1.0 and np.array_equal(kept.pixels, prepare_digit(image))
