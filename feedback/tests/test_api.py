"""POST /api/feedback/ and the result page's "Is this right?" form."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from django.core import signing
from django.test import Client
from PIL import Image

from feedback.models import Feedback
from feedback.tests.factories import predicted_token
from predictor.reading import read_number
from predictor.services import store_original
from predictor.tests import renders

URL = "/api/feedback/"
DIGITS, LABELS = renders.mnist_samples()


def post_json(client, body, **extra):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **extra)


def test_json_feedback_is_stored_with_what_the_model_saw(client):
    token, predicted = predicted_token(DIGITS[4])
    response = post_json(client, {"feedback_token": token, "label": 3})
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending" and isinstance(body["id"], int)
    record = Feedback.objects.get(pk=body["id"])
    assert record.label == 3 and record.user_label == 3
    assert record.predicted_digit == predicted and len(record.probabilities) == 10
    assert record.user_said_correct is (predicted == 3)
    assert np.array_equal(np.frombuffer(bytes(record.model_input), np.uint8).reshape(28, 28), DIGITS[4])
    assert record.model_version.startswith("base-")
    assert record.original.name.startswith("uploads/") and record.original.size > 0
    assert len(record.client_fingerprint) == 32


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_small_original_is_stored_only_when_feedback_comes(client, media_root):
    token, _ = predicted_token(DIGITS[6])
    assert stored_files(media_root) == [], "reading a digit kept nothing"
    post_json(client, {"feedback_token": token, "label": 6})
    post_json(client, {"feedback_token": token, "label": 6})  # the same feedback again
    record = Feedback.objects.get()
    assert record.original.read() == renders.encode(Image.fromarray(DIGITS[6]))
    assert re.fullmatch(rf"uploads/\d{{4}}/\d\d/\d\d/{record.token_id}-[0-9a-f]{{8}}\.png", record.original.name)
    assert len(stored_files(media_root)) == 1, "one copy, however often the feedback is sent"


def test_raising_the_inline_limit_keeps_feedback_working(client, settings, media_root):
    """Token and body limits follow INLINE_ORIGINAL_BYTES: a 48 kB scan riding in the token."""
    scan = renders.scan(DIGITS[6])
    settings.INLINE_ORIGINAL_BYTES = 2 * len(scan)
    reading = read_number(data=scan)
    assert len(reading.feedback_token) > 64 * 1024
    response = post_json(client, {"feedback_token": reading.feedback_token, "label": 6})
    assert response.status_code == 201
    assert Feedback.objects.get().original.read() == scan


def test_large_original_stored_when_read_is_referenced_not_copied(client, media_root, settings):
    settings.INLINE_ORIGINAL_BYTES = 0
    token, _ = predicted_token(DIGITS[6])
    assert len(stored_files(media_root)) == 1
    post_json(client, {"feedback_token": token, "label": 6})
    assert Feedback.objects.get().original.read() == renders.encode(Image.fromarray(DIGITS[6]))
    assert len(stored_files(media_root)) == 1


def storage_outage(**kwargs):
    raise OSError("bucket unreachable")


def test_storage_outage_at_feedback_is_a_503_and_the_token_works_later(client, media_root, monkeypatch):
    token, _ = predicted_token(DIGITS[6])
    monkeypatch.setattr("feedback.services.store_original", storage_outage)
    response = post_json(client, {"feedback_token": token, "label": 6})
    assert response.status_code == 503 and "try again" in response.json()["error"]
    assert not Feedback.objects.exists()
    monkeypatch.undo()
    assert post_json(client, {"feedback_token": token, "label": 6}).status_code == 201
    assert Feedback.objects.get().original.read() == renders.encode(Image.fromarray(DIGITS[6]))


def test_feedback_on_a_reading_whose_original_could_not_be_stored(client, settings, monkeypatch):
    """A storage outage while reading a large upload: the answer still comes, and its feedback is
    kept with the model input only."""
    settings.INLINE_ORIGINAL_BYTES = 0
    monkeypatch.setattr("predictor.reading.store_original", storage_outage)
    token, _ = predicted_token(DIGITS[6])
    monkeypatch.undo()
    assert post_json(client, {"feedback_token": token, "label": 6}).status_code == 201
    record = Feedback.objects.get()
    assert not record.original
    assert np.array_equal(np.frombuffer(bytes(record.model_input), np.uint8).reshape(28, 28), DIGITS[6])


def test_form_fields_work_too(client):
    token, predicted = predicted_token()
    response = client.post(URL, {"feedback_token": token, "label": str(predicted)})
    assert response.status_code == 201
    assert Feedback.objects.get().user_said_correct is True


def test_same_token_twice_creates_one_record(client):
    token, _ = predicted_token()
    first = post_json(client, {"feedback_token": token, "label": 1})
    second = post_json(client, {"feedback_token": token, "label": 2})
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["duplicate"] is True and second.json()["id"] == first.json()["id"]
    assert "already recorded" in second.json()["detail"]
    assert Feedback.objects.count() == 1 and Feedback.objects.get().label == 1


@pytest.mark.parametrize("label", ["7a", -1, 10, "10", "", None, 3.5, True, "٣", [1]])
def test_label_outside_0_to_9_is_refused(client, label):
    token, _ = predicted_token()
    response = post_json(client, {"feedback_token": token, "label": label})
    assert response.status_code == 400
    assert "label must be a digit" in response.json()["error"]
    assert Feedback.objects.count() == 0


def test_tampered_token_is_refused(client):
    token, _ = predicted_token()
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    response = post_json(client, {"feedback_token": tampered, "label": 1})
    assert response.status_code == 400
    assert "tampered" in response.json()["error"]


def test_token_signed_for_something_else_is_refused(client):
    forged = signing.dumps({"id": "x", "u": "uploads/x.png"}, compress=True)
    response = post_json(client, {"feedback_token": forged, "label": 1})
    assert response.status_code == 400


def test_expired_token_is_refused(client, settings):
    token, _ = predicted_token()
    settings.FEEDBACK_TOKEN_MAX_AGE = -1
    response = post_json(client, {"feedback_token": token, "label": 1})
    assert response.status_code == 400
    assert "expired" in response.json()["error"]


@pytest.mark.parametrize("token", [None, "", "garbage", 12345, "x" * 30_000])
def test_malformed_token_is_refused(client, token):
    response = post_json(client, {"feedback_token": token, "label": 1})
    assert response.status_code == 400
    assert "feedback_token" in response.json()["error"]


def test_body_that_is_not_json(client):
    response = client.post(URL, data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_json_nested_too_deep_to_parse(client):
    """Python's parser gives up on deep nesting with RecursionError, which is not a ValueError."""
    response = client.post(URL, data=b"[" * 50_000, content_type="application/json")
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_json_that_is_not_an_object(client):
    response = client.post(URL, data=b"[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_huge_body_is_refused(client):
    response = client.post(URL, data=b'{"label": 1, "pad": "' + b"x" * 200_000 + b'"}', content_type="application/json")
    assert response.status_code == 413


def test_feedback_api_needs_no_csrf_token():
    token, _ = predicted_token()
    response = Client(enforce_csrf_checks=True).post(URL, {"feedback_token": token, "label": 1})
    assert response.status_code == 201


def test_result_page_asks_is_this_right(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/predict/", {"image": SimpleUploadedFile("d.jpg", renders.phone_photo(DIGITS[5]))})
    html = response.content.decode()
    assert "Is this right?" in html
    assert 'name="feedback_token"' in html and 'value="yes"' in html
    assert html.count('class="digit-choice"') == 9


def test_one_click_yes_from_the_page(client):
    token, predicted = predicted_token()
    response = client.post("/feedback/", {"feedback_token": token, "predicted_digit": predicted, "correct": "yes"})
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    record = Feedback.objects.get()
    assert record.label == predicted and record.user_said_correct


def test_pick_the_right_digit_from_the_page(client):
    token, predicted = predicted_token()
    other = (predicted + 1) % 10
    response = client.post("/feedback/", {"feedback_token": token, "predicted_digit": predicted, "label": other})
    assert f"it is a <strong>{other}</strong>" in response.content.decode()
    assert Feedback.objects.get().label == other


def test_page_form_keeps_csrf():
    token, predicted = predicted_token()
    response = Client(enforce_csrf_checks=True).post("/feedback/", {"feedback_token": token, "label": 1})
    assert response.status_code == 403


def test_nothing_half_written_when_the_database_fails(client, monkeypatch):
    from django.db import DatabaseError

    token, _ = predicted_token()

    def broken_save(*args, **kwargs):
        raise DatabaseError("connection lost")

    monkeypatch.setattr(Feedback, "save", broken_save)
    response = post_json(client, {"feedback_token": token, "label": 1})
    assert response.status_code == 503
    monkeypatch.undo()
    assert Feedback.objects.count() == 0
    assert post_json(client, {"feedback_token": token, "label": 1}).status_code == 201


def test_feedback_retried_after_a_database_failure_is_stored_on_cloud_storage(client, cloud_bucket, monkeypatch):
    """The README's promise, "send the same token again later", against Cloud Storage's API: the
    failed attempt leaves no stray copy, and the retry stores the original under a name of its own
    (Cloud Storage refuses to overwrite an original's name, mnistsite/storages.py)."""
    from django.db import OperationalError

    token, _ = predicted_token(DIGITS[6])

    def database_down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    for _ in range(2):
        with monkeypatch.context() as patch:
            patch.setattr(Feedback, "save", database_down)
            assert post_json(client, {"feedback_token": token, "label": 6}).status_code == 503
        assert list(cloud_bucket.list_blobs()) == [], "the failed attempt's copy is removed"

    assert post_json(client, {"feedback_token": token, "label": 6}).status_code == 201
    record = Feedback.objects.get()
    [blob] = cloud_bucket.list_blobs()
    assert blob.name == record.original.name
    assert blob.download_as_bytes() == renders.encode(Image.fromarray(DIGITS[6]))


def test_every_attempt_stores_its_original_under_a_name_of_its_own():
    first = store_original(data=b"GIF89a", image_format="GIF", token_id="0123abcd")
    second = store_original(data=b"GIF89a", image_format="GIF", token_id="0123abcd")
    assert first != second
    for name in (first, second):
        assert re.fullmatch(r"uploads/\d{4}/\d\d/\d\d/0123abcd-[0-9a-f]{8}\.gif", name), name


def test_a_form_without_its_multipart_boundary_is_a_json_400(client):
    response = client.post(URL, data=b"feedback_token=x&label=1", content_type="multipart/form-data")
    assert response.status_code == 400 and "could not be read" in response.json()["error"]


def test_an_original_stored_when_read_lives_in_the_bucket_and_feedback_refers_to_it(client, cloud_bucket, settings):
    settings.INLINE_ORIGINAL_BYTES = 0
    picture = renders.encode(Image.fromarray(DIGITS[6]))
    token, _ = predicted_token(DIGITS[6])
    [stored] = cloud_bucket.list_blobs()
    assert stored.name.startswith("uploads/") and stored.download_as_bytes() == picture
    assert stored.content_type == "image/png"

    assert post_json(client, {"feedback_token": token, "label": 6}).status_code == 201
    assert Feedback.objects.get().original.name == stored.name
    assert Feedback.objects.get().original.read() == picture
    assert [blob.name for blob in cloud_bucket.list_blobs()] == [stored.name], "referenced, not copied"
