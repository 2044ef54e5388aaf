"""Previews of stored originals for the review list (feedback/thumbnails.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from feedback.thumbnails import THUMBNAIL_SIDE, thumbnail
from predictor.preprocessing import ImageRejected
from predictor.tests import renders

DIGITS, _ = renders.mnist_samples()


def picture(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_a_drawing_becomes_a_grey_png_at_most_the_thumbnail_side():
    data, content_type = thumbnail(data=renders.draw_pad(DIGITS[4]))  # 280×280 RGBA
    assert content_type == "image/png"
    pixels = picture(data)
    assert pixels.shape == (THUMBNAIL_SIDE, THUMBNAIL_SIDE) and pixels.max() > 200


def test_white_strokes_on_a_transparent_canvas_stay_visible():
    """On the admin's white page a transparent canvas would hide white strokes; the preview puts them
    on the backdrop the preprocessing gives them."""
    pixels = picture(thumbnail(data=renders.transparent_canvas(DIGITS[0], stroke=(255, 255, 255)))[0])
    strokes = pixels > 128
    assert 0.02 < strokes.mean() < 0.5 and pixels[0, 0] < 30


def test_a_16_bit_scan_is_stretched_to_8_bits_not_clipped_white():
    ink = np.asarray(Image.fromarray(DIGITS[2]).resize((200, 200)), dtype=np.float64) / 255
    scan = Image.fromarray((60000 - ink * 40000).astype(np.uint16))  # I;16: every level above 255
    pixels = picture(thumbnail(data=renders.encode(scan))[0])
    assert pixels.min() < 30 and pixels.max() > 225


def test_a_small_picture_is_not_enlarged():
    data, _ = thumbnail(data=renders.encode(Image.fromarray(DIGITS[3])))
    assert picture(data).shape == (28, 28)


def test_what_cannot_be_decoded_is_rejected():
    with pytest.raises(ImageRejected):
        thumbnail(data=b"GIF89a truncated")
