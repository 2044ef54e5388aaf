"""Digits as the server sees them uploaded as 16×16 scans, the way USPS and Semeion come.

Such a scan's digit was shrunk to fill (or nearly fill) a 16×16 square, often stretched to it and
thresholded to black and white; the server enlarges it again (`prepare_digit`). Augmenting a 28×28
picture does not make what that makes, so the classifier, the detector and the line reader each
see a share of their training digits this way.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from predictor.preprocessing import NoDigitFound, prepare_digit

SMALL_SCAN_SIDE = 16


def scanned_16(picture: np.ndarray, *, stretch: bool, threshold: float | None) -> np.ndarray:
    """`picture` (28×28, white on black, not blank) scanned as a 16×16 picture, as USPS and Semeion
    are: its ink box stretched to fill the square (`stretch`) or kept in proportion, grey or
    thresholded to black and white above `threshold`."""
    rows, cols = np.flatnonzero(picture.max(1) > 20), np.flatnonzero(picture.max(0) > 20)
    box = Image.fromarray(picture[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    if stretch:
        box = box.resize((SMALL_SCAN_SIDE, SMALL_SCAN_SIDE), Image.Resampling.BILINEAR)
    else:
        scale = (SMALL_SCAN_SIDE - 2) / max(box.size)
        size = (max(1, round(box.width * scale)), max(1, round(box.height * scale)))
        box = box.resize(size, Image.Resampling.BILINEAR)
    scan = np.zeros((SMALL_SCAN_SIDE, SMALL_SCAN_SIDE), np.uint8)
    top, left = (SMALL_SCAN_SIDE - box.height) // 2, (SMALL_SCAN_SIDE - box.width) // 2
    scan[top : top + box.height, left : left + box.width] = np.asarray(box)
    if threshold is not None:
        scan = np.where(scan > threshold, 255, 0).astype(np.uint8)
    return scan


def small_scan(picture: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """What the server makes of `picture` (28×28, white on black) scanned as a 16×16 picture
    (`scanned_16`), stretched or not, thresholded or not, at random; the picture itself if nothing
    of it is left."""
    if not (picture > 20).any():
        return picture
    stretch = rng.random() < 0.5
    threshold = rng.uniform(60, 160) if rng.random() < 0.5 else None
    try:
        return prepare_digit(Image.fromarray(scanned_16(picture, stretch=stretch, threshold=threshold)))
    except NoDigitFound:
        return picture


def as_small_scans(pictures: np.ndarray, *, share: float, seed: int) -> np.ndarray:
    """`pictures` with `share` of them, chosen by `seed`, replaced by their `small_scan`."""
    rng = np.random.default_rng(seed)
    chosen = rng.random(len(pictures)) < share
    result = pictures.copy()
    for index in np.flatnonzero(chosen):
        result[index] = small_scan(pictures[index], rng=rng)
    return result


def mnist_style(scan: np.ndarray) -> np.ndarray:
    """A 16×16 scan made 28×28 as the held-out sets' `x28` are (`../shared/data/README.md`): its ink
    box (above a tenth of its brightest pixel) scaled bilinearly to 20 px on the longer side, pasted
    with its centre of mass on the middle pixel. Validation digits scanned Semeion's way and made so
    stand in for Semeion's `x28` in numbers (`bench/read_numbers.py --split validation`)."""
    rows, cols = (np.flatnonzero(scan.max(axis) > scan.max() / 10) for axis in (1, 0))
    box = scan[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(float)
    zoom = 20 / max(box.shape)
    box = np.clip(ndimage.zoom(box, zoom, order=1), 0, 255)
    field = np.zeros((28, 28))
    centre = ndimage.center_of_mass(box)
    top = int(np.clip(round(14 - centre[0]), 0, 28 - box.shape[0]))
    left = int(np.clip(round(14 - centre[1]), 0, 28 - box.shape[1]))
    field[top : top + box.shape[0], left : left + box.shape[1]] = box
    return np.round(field).astype(np.uint8)
