"""Digits as the server sees them uploaded as 16×16 scans (`training.scans`)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from predictor.tests import renders

DIGITS, LABELS = renders.mnist_samples()


def test_a_share_of_the_pictures_is_shown_as_small_scans():
    from training.scans import as_small_scans

    scanned = as_small_scans(DIGITS, share=0.5, seed=3)
    changed = (scanned != DIGITS).any(axis=(1, 2))
    assert 0 < changed.sum() < len(DIGITS)
    np.testing.assert_array_equal(scanned, as_small_scans(DIGITS, share=0.5, seed=3))  # the seed decides
    # All of them, but a scan the server finds no digit in (a "1" stretched into a block) stays as it was.
    assert (as_small_scans(DIGITS, share=1.0, seed=3) != DIGITS).any(axis=(1, 2)).mean() >= 0.9
    assert scanned.dtype == np.uint8 and scanned.shape == DIGITS.shape


def test_a_scan_is_stretched_to_its_frame_or_kept_in_proportion_grey_or_black_and_white():
    from training.scans import scanned_16

    digit = DIGITS[int(np.flatnonzero(LABELS == 1)[0])]  # a narrow "1"
    stretched = scanned_16(digit, stretch=True, threshold=127)
    assert stretched.shape == (16, 16) and set(np.unique(stretched)) == {0, 255}
    rows, cols = np.flatnonzero(stretched.any(1)), np.flatnonzero(stretched.any(0))
    assert cols[-1] - cols[0] >= 13 and rows[-1] - rows[0] >= 13  # the "1" is as wide as it is tall
    kept = scanned_16(digit, stretch=False, threshold=None)
    rows, cols = np.flatnonzero(kept.any(1)), np.flatnonzero(kept.any(0))
    assert rows[0] >= 1 and rows[-1] <= 14 and cols[-1] - cols[0] < 8  # still narrow, a margin round it
    assert len(np.unique(kept)) > 2


def test_a_scan_is_made_28_by_28_as_the_held_out_sets_x28_are():
    from training.scans import mnist_style, scanned_16

    one = DIGITS[int(np.flatnonzero(LABELS == 1)[0])]
    slab = mnist_style(scanned_16(one, stretch=True, threshold=127))
    assert slab.shape == (28, 28) and slab.dtype == np.uint8
    rows, cols = np.flatnonzero(slab.max(1) > 25), np.flatnonzero(slab.max(0) > 25)
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 >= 17  # a stretched "1": a slab
    kept = mnist_style(scanned_16(one, stretch=False, threshold=None))
    rows, cols = np.flatnonzero(kept.max(1) > 25), np.flatnonzero(kept.max(0) > 25)
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 < 12  # in proportion: still narrow
    for picture in (slab, kept):
        assert np.allclose(ndimage.center_of_mass(picture.astype(float)), (14, 14), atol=1.0)
