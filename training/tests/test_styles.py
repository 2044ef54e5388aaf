"""MNIST ones and sevens get the flag and crossbar that much of Europe writes."""

from __future__ import annotations

import numpy as np
import pytest

from training.styles import crossed_seven, flagged_one, hooked_nine, with_european_styles
from training.mnist import load_mnist


@pytest.fixture(scope="module")
def train_slice(mnist_path):
    data = load_mnist(path=mnist_path)
    return data.x_train[:2000], data.y_train[:2000]


def first(x, y, label):
    return x[np.flatnonzero(y == label)[0]].astype(np.float64)


def test_a_flag_goes_from_the_top_of_the_one_down_to_the_left(train_slice):
    one = first(*train_slice, 1)
    flagged = flagged_one(one, np.random.default_rng(0))
    added = (flagged > 128) & ~(one > 128)
    assert (flagged >= one).all(), "the one's own strokes are kept"
    rows, cols = np.nonzero(added)
    one_rows, one_cols = np.nonzero(one > 128)
    assert added.sum() >= 6
    assert rows.min() <= one_rows.min() + 3, "the flag starts at the top (its first pixels overlap the stem)"
    assert cols.min() < one_cols[one_rows == one_rows.min()].min() - 2, "and reaches out to the left"


def test_a_crossbar_crosses_the_stem_of_the_seven(train_slice):
    seven = first(*train_slice, 7)
    crossed = crossed_seven(seven, np.random.default_rng(0))
    added = (crossed > 128) & ~(seven > 128)
    rows, cols = np.nonzero(added)
    seven_rows = np.flatnonzero((seven > 128).any(1))
    assert added.sum() >= 4
    assert seven_rows[0] + 3 < rows.mean() < seven_rows[-1] - 2, "below the top bar, above the foot"
    stem = np.flatnonzero(seven[int(round(rows.mean()))] > 128)
    assert cols.min() < stem.min() and cols.max() > stem.max(), "on both sides of the stem"


def test_a_hook_leaves_the_foot_of_the_nine_to_the_left(train_slice):
    nine = first(*train_slice, 9)
    hooked = hooked_nine(nine, np.random.default_rng(0))
    added = (hooked > 128) & ~(nine > 128)
    rows, cols = np.nonzero(added)
    nine_rows = np.flatnonzero((nine > 128).any(1))
    foot = np.flatnonzero(nine[nine_rows[-1]] > 128)
    assert added.sum() >= 4
    assert rows.mean() > nine_rows[-1] - 5, "at the foot of the stem"
    assert cols.min() < foot.min() - 2, "reaching out to the left"


def test_hooked_nines_are_drawn_only_when_asked_and_leave_the_ones_and_sevens_as_they_were(train_slice):
    x, y = train_slice
    without = with_european_styles(x, y, fraction=0.35, seed=1)
    hooked = with_european_styles(x, y, fraction=0.35, seed=1, hooked_nines=0.35)
    changed = (hooked != without).any(axis=(1, 2))
    assert set(np.unique(y[changed])) == {9}
    assert 0.25 < changed[y == 9].mean() < 0.45
    assert all(_box(pixels) <= 20 for pixels in hooked[changed]), "re-cut to MNIST's 20 px box"
    only_nines = with_european_styles(x, y, fraction=0.0, seed=1, hooked_nines=0.35)
    assert set(np.unique(y[(only_nines != x).any(axis=(1, 2))])) == {9}


def test_only_the_chosen_share_of_ones_and_sevens_change_and_stay_in_mnist_format(train_slice):
    x, y = train_slice
    styled = with_european_styles(x, y, fraction=0.35, seed=1)
    changed = (styled != x).any(axis=(1, 2))
    assert set(np.unique(y[changed])) == {1, 7}
    for label in (1, 7):
        share = changed[y == label].mean()
        assert 0.25 < share < 0.45, f"{label}: {share:.2f}"
    assert all(_box(pixels) <= 20 for pixels in styled[changed]), "re-cut to MNIST's 20 px box"
    np.testing.assert_array_equal(styled, with_european_styles(x, y, fraction=0.35, seed=1))
    assert not (with_european_styles(x, y, fraction=0.35, seed=2) == styled).all()
    assert with_european_styles(x, y, fraction=0.0, seed=1) is x


def _box(pixels):
    rows, cols = np.flatnonzero(pixels.any(1)), np.flatnonzero(pixels.any(0))
    return max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
