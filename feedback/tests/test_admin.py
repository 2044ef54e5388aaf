"""Reviewing feedback in the admin: list, filters, thumbnails, actions, permissions, confusion matrix."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Permission, User
from PIL import Image

from feedback.models import Feedback
from feedback.reports import confusion_by_version
from feedback.tests.factories import make_feedback
from predictor.tests import renders

DIGITS, _ = renders.mnist_samples()
CHANGELIST = "/admin/feedback/feedback/"


def staff(*permissions: str) -> User:
    user = User.objects.create_user(f"staff{User.objects.count()}", password="pw-Secret-123", is_staff=True)
    for codename in ("view_feedback", "change_feedback", *permissions):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def reviewer(client):
    user = staff("review_feedback")
    client.force_login(user)
    return user


def test_list_shows_thumbnails_prediction_label_confidence_version_status(client, reviewer):
    record = make_feedback(label=3, predicted=8, pixels=DIGITS[0])
    html = client.get(CHANGELIST).content.decode()
    assert f'src="/admin/feedback/feedback/{record.pk}/original/thumbnail/"' in html
    assert 'alt="28×28 model input"' in html and "data:image/png;base64," in html
    assert "90%" in html and "base-test" in html and "pending" in html
    assert "Confusion matrix" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [("status__exact=approved", {"approved"}), ("wrong=yes", {"wrong"}), ("label=3", {"wrong"}),
     ("predicted_digit=7", {"right", "approved"})],
)
def test_filters(client, reviewer, query, expected):
    records = {
        "wrong": make_feedback(label=3, predicted=8),
        "right": make_feedback(label=7, predicted=7),
        "approved": make_feedback(label=7, predicted=7, status=Feedback.Status.APPROVED),
    }
    shown = {pk for pk in client.get(f"{CHANGELIST}?{query}").context["cl"].result_list.values_list("pk", flat=True)}
    assert shown == {records[name].pk for name in expected}


def test_approve_and_reject_actions_record_who_and_when(client, reviewer):
    first, second = make_feedback(), make_feedback()
    client.post(CHANGELIST, {"action": "approve", "_selected_action": [first.pk]})
    client.post(CHANGELIST, {"action": "reject", "_selected_action": [second.pk]})
    first.refresh_from_db(), second.refresh_from_db()
    assert first.status == "approved" and first.reviewed_by == reviewer and first.reviewed_at
    assert second.status == "rejected" and second.reviewed_by == reviewer


def test_action_messages_live_in_the_session_not_a_cookie(client, reviewer):
    """Messages are kept in the session, so no request pays for parsing a message cookie."""
    record = make_feedback()
    response = client.post(CHANGELIST, {"action": "approve", "_selected_action": [record.pk]})
    assert "messages" not in response.cookies
    assert "Approved 1 record(s)." in client.get(response.url).content.decode()


def test_staff_without_review_permission_cannot_approve(client):
    client.force_login(staff())
    record = make_feedback()
    response = client.get(CHANGELIST)
    actions = response.context["cl"].model_admin.get_actions(response.wsgi_request)
    assert "approve" not in actions and "reject" not in actions
    client.post(CHANGELIST, {"action": "approve", "_selected_action": [record.pk]})
    record.refresh_from_db()
    assert record.status == "pending"


def test_anonymous_user_is_sent_to_login(client):
    record = make_feedback()
    assert client.get(CHANGELIST).status_code == 302
    assert client.get(f"{CHANGELIST}{record.pk}/original/").status_code == 302
    assert client.get(f"{CHANGELIST}{record.pk}/original/thumbnail/").status_code == 302


def test_reviewer_corrects_the_label_before_approving(client, reviewer):
    record = make_feedback(label=1, predicted=7)
    response = client.post(f"{CHANGELIST}{record.pk}/change/", {"label": 4})
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.label == 4 and record.user_label == 1, "the user's own answer is kept"


def test_label_outside_0_to_9_cannot_be_saved(client, reviewer):
    record = make_feedback(label=1)
    response = client.post(f"{CHANGELIST}{record.pk}/change/", {"label": 12})
    assert response.status_code == 200 and response.context["adminform"].form.errors
    record.refresh_from_db()
    assert record.label == 1


def test_original_is_served_as_an_image_with_nosniff(client, reviewer):
    record = make_feedback(pixels=DIGITS[2])
    response = client.get(f"{CHANGELIST}{record.pk}/original/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_the_list_shows_a_photo_as_a_small_upright_thumbnail(client, reviewer):
    """A page of the list shows 50 originals at 56 px: a photo is sent as a few kilobytes, not whole."""
    photo = renders.phone_photo(DIGITS[1], exif_orientation=6, size=(1600, 1200), digit_height=600)
    record = make_feedback(pixels=DIGITS[1], original=photo, extension="jpg")

    response = client.get(f"{CHANGELIST}{record.pk}/original/thumbnail/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg" and response["X-Content-Type-Options"] == "nosniff"
    assert len(response.content) < len(photo) / 50
    picture = Image.open(io.BytesIO(response.content))
    assert picture.format == "JPEG" and picture.size == (84, 112)  # stored sideways, shown upright
    assert picture.mode == "RGB"  # a photo keeps its colours


@pytest.mark.parametrize("stored", [b"", b"\x89PNG\r\n\x1a\n damaged", b"<svg onload=alert(1)>"])
def test_a_thumbnail_of_an_unreadable_original_is_not_found(client, reviewer, stored):
    record = make_feedback(original=stored)
    assert client.get(f"{CHANGELIST}{record.pk}/original/thumbnail/").status_code == 404


def test_a_thumbnail_of_a_deleted_original_is_not_found(client, reviewer):
    record = make_feedback()
    record.original.delete(save=False)
    assert client.get(f"{CHANGELIST}{record.pk}/original/thumbnail/").status_code == 404


def test_confusion_matrix_per_model_version(client, reviewer):
    for label, predicted, version in [(3, 8, "v1"), (3, 8, "v1"), (3, 3, "v1"), (1, 1, "v2")]:
        make_feedback(label=label, predicted=predicted, model_version=version, status=Feedback.Status.APPROVED)
    make_feedback(label=5, predicted=6, model_version="v1")  # pending: not counted
    tables = {table.model_version: table for table in confusion_by_version()}
    assert tables["v1"].counts[3][8] == 2 and tables["v1"].counts[3][3] == 1
    assert tables["v1"].total == 3 and tables["v1"].correct == 1
    assert tables["v2"].accuracy == 1.0
    html = client.get(f"{CHANGELIST}confusion/").content.decode()
    assert 'data-model-version="v1"' in html and 'data-model-version="v2"' in html
    assert "1 of 3 right" in html


def test_feedback_cannot_be_added_by_hand(client, reviewer):
    assert client.get(f"{CHANGELIST}add/").status_code == 403
