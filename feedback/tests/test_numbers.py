"""Feedback on whole numbers: one record per digit, segmentation records, the admin's view of them."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.contrib.auth.models import Permission, User
from PIL import Image

from feedback.models import Feedback, NumberFeedback
from feedback.tests.factories import number_picture
from predictor.reading import read_number

URL = "/api/feedback/"


def post_json(client, body):
    return client.post(URL, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def reading():
    result = read_number(data=number_picture("2026"))
    assert result.number == "2026"
    return result


def test_the_whole_number_confirmed_makes_a_record_per_digit(client, reading):
    response = post_json(client, {"feedback_token": reading.feedback_token, "label": "2026"})
    assert response.status_code == 201
    body = response.json()
    assert body["segmentation"] is False and body["number"] == "2026" and len(body["digit_ids"]) == 4
    number = NumberFeedback.objects.get(pk=body["id"])
    assert number.number_read == number.label == "2026" and len(number.boxes) == 4
    assert number.original.read() == number_picture("2026")
    digits = list(Feedback.objects.filter(reading_id=number.reading_id).order_by("position"))
    assert [d.position for d in digits] == [0, 1, 2, 3]
    assert [d.label for d in digits] == [2, 0, 2, 6] and all(d.user_said_correct for d in digits)
    assert [d.box for d in digits] == [list(digit.box) for digit in reading.digits]
    for record in digits:  # each digit's own crop of the picture, small
        crop = Image.open(io.BytesIO(record.original.read()))
        assert crop.format == "PNG" and max(crop.size) <= 64


def test_a_corrected_number_with_as_many_digits_corrects_each(client, reading):
    post_json(client, {"feedback_token": reading.feedback_token, "label": "2028"})
    labels = list(Feedback.objects.order_by("position").values_list("label", "user_said_correct"))
    assert labels == [(2, True), (0, True), (2, True), (8, False)]


@pytest.mark.parametrize("label", ["226", "20266"])
def test_another_count_of_digits_is_a_segmentation_record_never_trained_on(client, reading, label):
    response = post_json(client, {"feedback_token": reading.feedback_token, "label": label})
    assert response.status_code == 201
    assert response.json()["segmentation"] is True and response.json()["digit_ids"] == []
    number = NumberFeedback.objects.get()
    assert number.is_segmentation_error and number.label == label
    assert not Feedback.objects.exists(), "nothing a finetune could train on"


def test_one_digit_corrected_with_its_own_token(client, reading):
    response = post_json(client, {"feedback_token": reading.digits[3].feedback_token, "label": 8})
    assert response.status_code == 201
    record = Feedback.objects.get()
    assert (record.label, record.predicted_digit, record.position) == (8, 6, 3)
    assert record.reading_id == reading.reading_id != ""
    assert record.box == list(reading.digits[3].box)
    assert Image.open(io.BytesIO(record.original.read())).format == "PNG"
    # the whole number afterwards keeps that record as it is and adds the others
    post_json(client, {"feedback_token": reading.feedback_token, "label": "2028"})
    assert Feedback.objects.count() == 4
    assert Feedback.objects.get(position=3).pk == record.pk


def test_the_same_reading_twice_adds_nothing(client, reading):
    first = post_json(client, {"feedback_token": reading.feedback_token, "label": "2026"})
    again = post_json(client, {"feedback_token": reading.feedback_token, "label": "1111"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["id"] == first.json()["id"]
    assert NumberFeedback.objects.count() == 1 and Feedback.objects.count() == 4


@pytest.mark.parametrize("label", ["", "20a6", "-2026", "1" * 13, 2.5, None, [2, 0], True, "２０２６"])
def test_a_number_that_is_not_one_is_refused(client, reading, label):
    response = post_json(client, {"feedback_token": reading.feedback_token, "label": label})
    assert response.status_code == 400
    assert "label" in response.json()["error"]
    assert not NumberFeedback.objects.exists()


def test_a_digit_token_still_takes_only_one_digit(client, reading):
    response = post_json(client, {"feedback_token": reading.digits[0].feedback_token, "label": "20"})
    assert response.status_code == 400


def test_the_result_page_form_takes_the_whole_number(client, reading):
    response = client.post("/feedback/", {"feedback_token": reading.feedback_token, "label": "2027"})
    assert response.status_code == 200
    assert "2027" in response.content.decode()
    confirm = client.post("/feedback/", {"feedback_token": reading.feedback_token, "correct": "yes",
                                         "predicted_digit": "2026"})
    assert "already had your answer" in confirm.content.decode()


def test_staff_see_a_segmentation_record_with_its_boxes(client, reading):
    post_json(client, {"feedback_token": reading.feedback_token, "label": "226"})
    user = User.objects.create_user("staff", password="pw-Secret-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_numberfeedback"))
    client.force_login(user)
    number = NumberFeedback.objects.get()
    listing = client.get("/admin/feedback/numberfeedback/?segmentation=yes").content.decode()
    assert f"/admin/feedback/numberfeedback/{number.pk}/original/thumbnail/" in listing
    assert client.get("/admin/feedback/numberfeedback/?segmentation=no").context["cl"].result_count == 0
    thumbnail = client.get(f"/admin/feedback/numberfeedback/{number.pk}/original/thumbnail/")
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/png"
    picture = np.asarray(Image.open(io.BytesIO(thumbnail.content)).convert("RGB")).astype(int)
    pink = int(((picture[..., 0] > 200) & (picture[..., 1] < 90) & (picture[..., 2] > 90)).sum())
    assert pink > 4 * 20, "the four boxes are drawn"
    page = client.get(f"/admin/feedback/numberfeedback/{number.pk}/change/").content.decode()
    assert "nothing is trained on" in page


def test_a_number_record_holds_as_many_digits_as_a_reading_can():
    """feedback.models keeps its own copy of the limit so models do not import the segmenter."""
    from feedback.models import MAX_NUMBER_DIGITS
    from predictor.segmentation import MAX_DIGITS

    assert MAX_NUMBER_DIGITS == MAX_DIGITS
    assert NumberFeedback._meta.get_field("label").max_length == MAX_DIGITS


def test_a_number_whose_records_cannot_be_saved_keeps_no_picture(client, reading, media_root, monkeypatch):
    """The digits' crops are stored before the records; when the database fails they are removed,
    and the retry stores its own. The picture itself, stored when it was read, stays."""
    from django.db import OperationalError

    def stored_files() -> list:
        return sorted(path for path in media_root.rglob("*") if path.is_file())

    def database_down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    [picture] = stored_files()
    with monkeypatch.context() as patch:
        patch.setattr(NumberFeedback, "save", database_down)
        assert post_json(client, {"feedback_token": reading.feedback_token, "label": "2026"}).status_code == 503
    assert stored_files() == [picture]
    assert post_json(client, {"feedback_token": reading.feedback_token, "label": "2026"}).status_code == 201
    assert len(stored_files()) == 5  # the picture and the 4 digits' crops
