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


def test_a_narrowed_reading_must_beat_the_picture_as_it_is_by_more_than_its_discount():
    """Judged 2 % better than the picture as it is, the narrowed readings still lose: their
    discounts (at most 0.97) take more than that back."""
    image = Image.open(io.BytesIO(renders.stretched_scan(DIGITS[0])))
    as_it_is = prepare_digit(image)
    assert max(NARROWED_RELIABILITY) * 1.02 < 1.0
    kept = _lone_digit(image, judge=lambda pixels: 0.9 if np.array_equal(pixels, as_it_is) else 0.9 * 1.02)
    assert kept.reliability == 1.0 and np.array_equal(kept.pixels, as_it_is)
