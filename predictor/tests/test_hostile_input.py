"""The bad-input list of the robustness issue, through the API: each gets a clear 4xx, never a 500."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from predictor.tests import liveserver, renders

DIGITS, LABELS = renders.mnist_samples()


def post(client, data: bytes, name: str = "x.png"):
    return client.post("/api/predict/", {"image": SimpleUploadedFile(name, data)})


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def bomb_png(width: int, height: int) -> bytes:
    """A tiny file whose header claims width × height pixels (the start of a zero-filled image)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    rows = zlib.compress(b"\0" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


def test_decompression_bomb_50000_squared_is_refused_before_decoding(client):
    data = bomb_png(50_000, 50_000)
    assert len(data) < 10_000
    response = post(client, data)
    assert response.status_code == 400
    assert "too large" in response.json()["error"]


def test_animated_gif_reads_the_first_frame(client):
    frames = [Image.fromarray(DIGITS[0]).convert("P"), Image.fromarray(DIGITS[1]).convert("P")]
    data = renders.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    response = post(client, data, "anim.gif")
    assert response.status_code == 200 and response.json()["digit"] == LABELS[0]


@pytest.mark.parametrize("size", [(1, 1), (10_000, 10), (10, 10_000)], ids=["1x1", "10000x10", "10x10000"])
def test_degenerate_shapes_are_a_clear_answer(client, size):
    data = renders.encode(Image.new("L", size, 0))
    response = post(client, data)
    assert response.status_code == 422 and "No digit found" in response.json()["error"]


def test_long_strip_with_ink_is_read_or_refused_cleanly(client):
    strip = np.zeros((10, 10_000), np.uint8)
    strip[2:8, 4000:4100] = 255
    response = post(client, renders.encode(Image.fromarray(strip)))
    assert response.status_code in {200, 422}


def test_cmyk_jpeg_through_the_api(client):
    photo = Image.open(__import__("io").BytesIO(renders.phone_photo(DIGITS[5]))).convert("CMYK")
    response = post(client, renders.encode(photo, "JPEG"), "cmyk.jpg")
    assert response.status_code == 200 and response.json()["digit"] == LABELS[5]


def test_sixteen_bit_and_palette_png_through_the_api(client):
    for image in (Image.fromarray(DIGITS[4].astype(np.uint16) * 257), Image.fromarray(DIGITS[4]).convert("P")):
        response = post(client, renders.encode(image))
        assert response.status_code == 200 and response.json()["digit"] == LABELS[4]


@pytest.mark.parametrize("bad_value", [np.inf, -np.inf, np.nan], ids=["inf", "-inf", "nan"])
def test_float_tiff_with_a_non_finite_pixel_is_read(client, bad_value):
    """A scientific float TIFF may hold inf or NaN where a sensor had no reading: the digit around
    it still counts (before, inf answered 500 and NaN made the whole picture "blank")."""
    pixels = DIGITS[2].astype(np.float32) / 255.0
    pixels[0, 0] = bad_value
    response = post(client, renders.encode(Image.fromarray(pixels, "F"), "TIFF"), "float.tif")
    assert response.status_code == 200, response.json()
    assert response.json()["digit"] == LABELS[2]


def test_float_tiff_of_nothing_but_non_finite_values_is_blank(client):
    pixels = np.full((28, 28), np.inf, np.float32)
    pixels[::2] = np.nan
    response = post(client, renders.encode(Image.fromarray(pixels, "F"), "TIFF"), "float.tif")
    assert response.status_code == 422 and "blank" in response.json()["error"]


def test_exif_rotated_photo_through_the_api(client):
    response = post(client, renders.phone_photo(DIGITS[3], exif_orientation=6), "phone.jpg")
    assert response.status_code == 200 and response.json()["digit"] == LABELS[3]


def test_pdf_renamed_png_is_refused(client):
    response = post(client, b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF", "doc.png")
    assert response.status_code == 400 and "not a picture" in response.json()["error"]


def test_truncated_jpeg_is_refused(client):
    data = renders.phone_photo(DIGITS[0])
    response = post(client, data[: len(data) // 3], "cut.jpg")
    assert response.status_code == 400 and "damaged or truncated" in response.json()["error"]


def test_upload_over_the_limit_is_refused_before_parsing(client, settings):
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    response = post(client, b"\0" * (2 * 1024 * 1024))
    assert response.status_code == 413 and "too large" in response.json()["error"]


def test_file_over_the_limit_in_a_form_within_the_allowance_is_refused(client, settings):
    """Within the form's allowance for framing, but the file itself is over the limit."""
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    body, content_type = liveserver.multipart(b"\0" * (1024 * 1024 + 10))
    response = client.generic("POST", "/api/predict/", body, content_type=content_type)
    assert response.status_code == 413 and "too large" in response.json()["error"]


def test_picture_sent_as_a_plain_form_field_is_read(client):
    """curl -F 'image=<d.png' sends the file's bytes without a file name."""
    data = renders.encode(Image.fromarray(DIGITS[0]))
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n").encode() + data + (
        f"\r\n--{boundary}--\r\n").encode()
    response = client.generic("POST", "/api/predict/", body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 200 and response.json()["digit"] == LABELS[0]


def test_form_with_hundreds_of_fields_is_refused(client):
    fields = {f"field{number}": "x" for number in range(200)}
    response = client.post("/api/predict/", {**fields, "image": SimpleUploadedFile("d.png", renders.encode(Image.fromarray(DIGITS[0])))})
    assert response.status_code == 400 and "too many fields" in response.json()["error"]


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", "application/json", "text/plain; boundary=abc"],
)
def test_body_that_is_not_a_multipart_form_is_a_clear_400(client, content_type):
    response = client.generic("POST", "/api/predict/", b"--abc\r\n\r\n", content_type=content_type)
    assert response.status_code == 400 and "multipart/form-data" in response.json()["error"]


def test_form_page_answers_bad_input_with_a_friendly_page(client):
    response = client.post("/predict/", {"image": SimpleUploadedFile("bomb.png", bomb_png(50_000, 50_000))})
    assert response.status_code == 400
    html = response.content.decode()
    assert "too large" in html and 'name="image"' in html
