"""Fuzzing: random and mutated pictures never crash preprocessing or earn a 500 from the API."""

from __future__ import annotations

import io

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from predictor.preprocessing import ImageRejected, preprocess
from predictor.tests import renders

DIGITS, _ = renders.mnist_samples()
SEEDS = [
    renders.encode(Image.fromarray(DIGITS[0])),
    renders.phone_photo(DIGITS[1]),
    renders.transparent_canvas(DIGITS[2]),
    renders.encode(Image.fromarray(DIGITS[3]).convert("P"), "GIF"),
    renders.encode(Image.fromarray(DIGITS[4]), "BMP"),
    renders.encode(Image.fromarray(DIGITS[5]), "WEBP"),
    renders.encode(Image.fromarray(DIGITS[6]), "TIFF"),
]


@st.composite
def mutated_pictures(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        operation = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if operation == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif operation == "cut":
            del data[position : position + draw(st.integers(1, 64))]
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=32))
        else:
            del data[position:]
    return bytes(data)


@st.composite
def odd_arrays(draw) -> bytes:
    """Valid PNGs of odd sizes, modes and contents (extreme shapes, flat, noisy, all-ink)."""
    height = draw(st.integers(1, 300))
    width = draw(st.integers(1, 300))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "LA", "I;16", "1"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["noise", "flat", "blocks"]))
    if kind == "noise":
        gray = rng.integers(0, 256, (height, width), dtype=np.uint8)
    elif kind == "flat":
        gray = np.full((height, width), draw(st.integers(0, 255)), np.uint8)
    else:
        gray = np.kron(rng.integers(0, 2, (max(1, height // 8) + 1, max(1, width // 8) + 1)) * 255,
                       np.ones((8, 8)))[:height, :width].astype(np.uint8)
    image = Image.fromarray(gray)
    image = image.convert(mode) if mode != "I;16" else Image.fromarray(gray.astype(np.uint16) * 257)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def assert_prepared_or_refused(data: bytes) -> None:
    try:
        pixels = preprocess(data)
    except ImageRejected:
        return
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_pictures())
def test_mutated_files_are_prepared_or_refused(data):
    assert_prepared_or_refused(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_arrays())
def test_odd_pictures_are_prepared_or_refused(data):
    assert_prepared_or_refused(data)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(mutated_pictures(), odd_arrays(), st.binary(max_size=2048)))
def test_api_never_answers_500(client, data):
    response = client.post("/api/predict/", {"image": SimpleUploadedFile("x.png", data)})
    assert response.status_code in {200, 400, 413, 422}, response.content[:200]
    assert "error" in response.json() or "digit" in response.json()
