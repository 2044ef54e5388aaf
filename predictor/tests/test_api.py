"""The JSON API contract: POST /api/predict/ and GET /healthz."""

from __future__ import annotations

import base64
import gzip
import json

import numpy as np
import pytest
from django.core import signing
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from predictor.tests import renders
from predictor.tokens import read_feedback_token

DIGITS, LABELS = renders.mnist_samples()
URL = "/api/predict/"


def upload(data: bytes, name: str = "digit.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def mnist_png(index: int) -> bytes:
    return renders.encode(Image.fromarray(DIGITS[index]))


@pytest.fixture
def api(client):
    def post(data: bytes | None = None, **fields):
        payload = dict(fields)
        if data is not None:
            payload["image"] = upload(data)
        return client.post(URL, payload)

    return post


def test_prediction_contract(api, settings):
    response = api(mnist_png(0))
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"digit", "confidence", "probabilities", "model_version", "feedback_token"}
    assert body["digit"] == LABELS[0]
    assert isinstance(body["digit"], int)
    assert len(body["probabilities"]) == 10
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert body["confidence"] == pytest.approx(max(body["probabilities"]))
    assert body["model_version"].startswith("base-")
    assert "feature_maps" not in body


@pytest.mark.parametrize("index", range(0, 20, 3))
def test_reads_mnist_digits(api, index):
    assert api(mnist_png(index)).json()["digit"] == LABELS[index]


def test_reads_a_phone_photo(api):
    response = api(renders.phone_photo(DIGITS[5]))
    assert response.status_code == 200
    assert response.json()["digit"] == LABELS[5]


@pytest.mark.parametrize("digit", sorted(renders.THIN_PEN_DIGITS))
def test_reads_a_digit_drawn_with_a_one_pixel_pen_in_a_16px_picture(api, digit):
    response = api(renders.thin_pen(digit))
    assert response.status_code == 200
    assert response.json()["number"] == str(digit)


def test_feedback_token_carries_what_the_model_saw(api, settings):
    body = api(mnist_png(2)).json()
    ticket = read_feedback_token(body["feedback_token"], max_age=settings.FEEDBACK_TOKEN_MAX_AGE)
    assert np.array_equal(ticket.pixels, DIGITS[2])
    assert ticket.predicted_digit == body["digit"]
    assert ticket.model_version == body["model_version"]
    assert ticket.probabilities == pytest.approx(body["probabilities"], abs=1e-5)


def test_small_original_travels_in_the_token_and_is_not_stored(api, settings, media_root):
    body = api(mnist_png(2)).json()
    ticket = read_feedback_token(body["feedback_token"], max_age=settings.FEEDBACK_TOKEN_MAX_AGE)
    assert ticket.original == mnist_png(2) and ticket.original_format == "PNG"
    assert ticket.upload_name == ""
    assert not media_root.exists() or not any(path.is_file() for path in media_root.rglob("*"))


def test_larger_original_is_stored_when_read(api, settings):
    settings.INLINE_ORIGINAL_BYTES = len(mnist_png(2)) - 1
    body = api(mnist_png(2)).json()
    ticket = read_feedback_token(body["feedback_token"], max_age=settings.FEEDBACK_TOKEN_MAX_AGE)
    assert ticket.original == b""
    assert default_storage.exists(ticket.upload_name)
    assert default_storage.open(ticket.upload_name).read() == mnist_png(2)


def test_stored_original_name_ignores_the_client_file_name(client, settings):
    settings.INLINE_ORIGINAL_BYTES = 0
    response = client.post(URL, {"image": upload(mnist_png(1), name="../../etc/passwd.html", content_type="text/html")})
    body = response.json()
    ticket = read_feedback_token(body["feedback_token"], max_age=60)
    assert ticket.upload_name.startswith("uploads/")
    assert ticket.upload_name.endswith(".png")
    assert "passwd" not in ticket.upload_name and ".." not in ticket.upload_name


def test_feedback_token_cannot_be_forged(api):
    token = api(mnist_png(3)).json()["feedback_token"]
    payload, _, signature = token.rpartition(":")
    forged = payload + ":" + ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(Exception, match="invalid or has been tampered"):
        read_feedback_token(forged, max_age=60)
    unsigned = signing.dumps({"id": "x"}, salt="another-salt", compress=True)
    with pytest.raises(Exception, match="invalid or has been tampered"):
        read_feedback_token(unsigned, max_age=60)


@pytest.mark.parametrize("flag", [{"feature_maps": "1"}, {"feature_maps": "true"}])
def test_feature_maps_on_request(api, flag):
    body = api(mnist_png(4), **flag).json()
    maps = body["feature_maps"]
    assert list(maps) == ["conv1", "conv2", "conv3", "conv4"]
    for layer in maps.values():
        height, width, channels = layer["shape"]
        raw = base64.b64decode(layer["data"])
        assert len(raw) == height * width * channels
        assert len(layer["scales"]) == channels
        assert layer["layout"] == "CHW"
    assert maps["conv1"]["shape"][:2] == [28, 28]
    assert body["model_input_png"].startswith("data:image/png;base64,")


def test_feature_maps_by_query_string(client):
    response = client.post(URL + "?feature_maps=1", {"image": upload(mnist_png(4))})
    assert "feature_maps" in response.json()


def test_an_answer_with_feature_maps_is_gzipped_for_clients_that_accept_it(client):
    plain = client.post(URL + "?feature_maps=1", {"image": upload(mnist_png(4))})
    zipped = client.post(URL + "?feature_maps=1", {"image": upload(mnist_png(4))}, HTTP_ACCEPT_ENCODING="gzip, br")

    assert plain.get("Content-Encoding") is None and "Accept-Encoding" in plain["Vary"]
    assert zipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped["Vary"]
    assert len(zipped.content) < len(plain.content) / 2
    unzipped = json.loads(gzip.decompress(zipped.content))
    assert unzipped["feature_maps"] == plain.json()["feature_maps"]


def test_a_plain_answer_is_not_worth_gzipping(client):
    response = client.post(URL, {"image": upload(mnist_png(4))}, HTTP_ACCEPT_ENCODING="gzip")
    assert response.get("Content-Encoding") is None and response.json()["digit"] == 4


def test_api_needs_no_csrf_token(mnist_client_enforcing_csrf):
    response = mnist_client_enforcing_csrf.post(URL, {"image": upload(mnist_png(0))})
    assert response.status_code == 200


@pytest.fixture
def mnist_client_enforcing_csrf():
    from django.test import Client

    return Client(enforce_csrf_checks=True)


def test_html_form_keeps_csrf(mnist_client_enforcing_csrf):
    response = mnist_client_enforcing_csrf.post("/predict/", {"image": upload(mnist_png(0))})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (None, 400, "No picture was sent"),
        (b"", 400, "The file is empty"),
        (b"just some text", 400, "not a picture"),
        (b"<html><body>hi</body></html>", 400, "not a picture"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", 400, "not a picture"),
        (renders.blank_page(), 422, "No digit found"),
        (renders.noise(size=64), 422, "No digit found"),
    ],
    ids=["missing", "empty", "text", "html", "svg", "blank", "noise"],
)
def test_bad_input_is_a_clear_4xx(api, data, status, message):
    response = api(data)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_truncated_png_is_a_clear_400(api):
    data = renders.phone_photo(DIGITS[0])
    response = api(data[:3000])
    assert response.status_code == 400
    assert "damaged or truncated" in response.json()["error"]


def test_oversized_upload_is_refused(api, settings):
    settings.MAX_UPLOAD_BYTES = 10_000
    response = api(renders.phone_photo(DIGITS[0]) + b"\0" * 80_000)
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_decompression_bomb_is_refused(api, settings):
    settings.MAX_IMAGE_PIXELS = 1_000_000
    response = api(renders.encode(Image.new("L", (2000, 2000)), optimize=True))
    assert response.status_code == 400
    assert "too large" in response.json()["error"]


def test_get_is_not_allowed(client):
    assert client.get(URL).status_code == 405


def test_uncertain_prediction_is_flagged(api, settings):
    settings.UNSURE_BELOW = 1.01  # nothing is that sure
    assert api(mnist_png(0)).json()["uncertain"] is True
    settings.UNSURE_BELOW = 0.0
    assert api(mnist_png(0)).json()["uncertain"] is False


def test_healthz_reports_the_model(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["model_version"].startswith("base-")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("get", "/api/predict/", "POST"),
    ("put", "/api/feedback/", "POST"),
    ("post", "/healthz", "GET, HEAD"),
    ("delete", "/api/schema/", "GET, HEAD"),
])
def test_another_method_gets_a_json_405_naming_the_allowed_ones(client, method, path, allowed):
    response = getattr(client, method)(path)
    assert response.status_code == 405 and response["Allow"] == allowed
    assert "not allowed" in response.json()["error"]
