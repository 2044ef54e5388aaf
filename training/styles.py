"""Digit styles common outside the US that MNIST (written by US Census staff and students) lacks.

Much of Europe writes a one with a long up-stroke (the "flag") and crosses the stem of a seven.
A model that never saw either reads such a one as a seven and such a seven as a two or a four.
Some MNIST ones and sevens get these strokes drawn on, anti-aliased, at MNIST's stroke width,
before augmentation; the result is cut and centred like any other upload.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from predictor.preprocessing import NoDigitFound, prepare_digit

_ROWS, _COLS = np.mgrid[0:28, 0:28].astype(np.float64) + 0.5


def _stroke(*, start: tuple[float, float], end: tuple[float, float], width: float) -> np.ndarray:
    """An anti-aliased straight stroke (0‥255) from `start` to `end`, (row, column) points."""
    (y0, x0), (y1, x1) = start, end
    dy, dx = y1 - y0, x1 - x0
    along = np.clip(((_ROWS - y0) * dy + (_COLS - x0) * dx) / max(dy * dy + dx * dx, 1e-9), 0.0, 1.0)
    distance = np.hypot(_ROWS - (y0 + along * dy), _COLS - (x0 + along * dx))
    return np.clip(width / 2 + 0.5 - distance, 0.0, 1.0) * 255.0


def _ink_rows(digit: np.ndarray) -> np.ndarray:
    return np.flatnonzero((digit > 128).any(1))


def flagged_one(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A one with a flag from its top end down to the left."""
    rows = _ink_rows(digit)
    top, height = rows[0], rows[-1] - rows[0] + 1
    columns = np.flatnonzero(digit[top] > 128)
    start = (top + 0.5, columns.mean() + 0.5)
    angle = np.radians(rng.uniform(20.0, 60.0))  # below the horizontal
    length = height * rng.uniform(0.35, 0.7)
    end = (start[0] + length * np.sin(angle), start[1] - length * np.cos(angle))
    return np.maximum(digit, _stroke(start=start, end=end, width=rng.uniform(1.8, 2.8)))


def crossed_seven(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A seven with a short bar across its stem, a little below the middle."""
    rows = _ink_rows(digit)
    row = int(round(rows[0] + (rows[-1] - rows[0]) * rng.uniform(0.45, 0.65)))
    columns = np.flatnonzero(digit[row] > 128)
    if columns.size == 0:
        return digit
    centre = (row + 0.5, columns.mean() + 0.5 + rng.uniform(-1.0, 1.0))
    half = (rows[-1] - rows[0] + 1) * rng.uniform(0.15, 0.3)
    tilt = np.radians(rng.uniform(-12.0, 8.0))
    offset = (half * np.sin(tilt), half * np.cos(tilt))
    start = (centre[0] + offset[0], centre[1] - offset[1])
    end = (centre[0] - offset[0], centre[1] + offset[1])
    return np.maximum(digit, _stroke(start=start, end=end, width=rng.uniform(1.8, 2.8)))


def hooked_nine(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A nine whose tail ends in a hook to the left, as in a handwritten "g" (MNIST's nines end
    straight). Drawn for Semeion's g-like nines, it mends few of them; what it moves is the border
    between four and nine (docs/model.md)."""
    rows = _ink_rows(digit)
    bottom, height = rows[-1], rows[-1] - rows[0] + 1
    columns = np.flatnonzero(digit[bottom] > 128)
    start = (bottom + 0.5, columns.mean() + 0.5)
    bend = (start[0] + height * rng.uniform(0.0, 0.12), start[1] - height * rng.uniform(0.1, 0.2))
    end = (bend[0] - height * rng.uniform(0.05, 0.25), bend[1] - height * rng.uniform(0.15, 0.3))
    width = rng.uniform(1.8, 2.8)
    return np.maximum(digit, np.maximum(_stroke(start=start, end=bend, width=width),
                                        _stroke(start=bend, end=end, width=width)))


def with_european_styles(
    x: np.ndarray, y: np.ndarray, *, fraction: float, seed: int, hooked_nines: float = 0.0
) -> np.ndarray:
    """A copy of `x` in which `fraction` of the ones get a flag and of the sevens a crossbar, and
    `hooked_nines` of the nines a hooked tail (nines come last, so the ones and sevens drawn do not
    depend on it)."""
    if fraction <= 0 and hooked_nines <= 0:
        return x
    rng = np.random.default_rng([seed, 71])  # a stream of its own, apart from the augmentation's
    x = x.copy()
    styles = ((1, flagged_one, fraction), (7, crossed_seven, fraction), (9, hooked_nine, hooked_nines))
    for label, draw, share in styles:
        if share <= 0:
            continue
        chosen = np.flatnonzero(y == label)
        chosen = chosen[rng.random(chosen.size) < share]
        for index in chosen:
            drawn = draw(x[index].astype(np.float64), rng)
            try:
                x[index] = prepare_digit(Image.fromarray(np.clip(np.round(drawn), 0, 255).astype(np.uint8)))
            except NoDigitFound:
                continue
    return x
