"""Security headers, API rate limits and admin login throttling."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from mnistsite.clients import client_address
from predictor.tests import renders

DIGITS, _ = renders.mnist_samples()


def png() -> SimpleUploadedFile:
    return SimpleUploadedFile("d.png", renders.encode(Image.fromarray(DIGITS[0])))


def test_pages_carry_a_csp_that_allows_only_this_site(client):
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_result_page_needs_no_inline_script(client):
    html = client.post("/predict/", {"image": png()}).content.decode()
    for block in html.split("<script")[1:]:
        tag = block.split(">", 1)[0]
        assert "src=" in tag or 'type="application/json"' in tag, f"inline script would be blocked by CSP: {tag}"


def test_predict_api_is_rate_limited_with_retry_after(client, settings):
    settings.RATELIMIT_PREDICT = "3/m"
    statuses = [client.post("/api/predict/", {"image": png()}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.post("/api/predict/", {"image": png()})
    assert response["Retry-After"] == "60"
    assert "Too many requests" in response.json()["error"]


def test_limits_are_per_client(client, settings):
    settings.RATELIMIT_PREDICT = "1/m"
    assert client.post("/api/predict/", {"image": png()}, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert client.post("/api/predict/", {"image": png()}, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert client.post("/api/predict/", {"image": png()}, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_forwarded_address_counts_only_behind_a_trusted_proxy(client, settings):
    settings.RATELIMIT_PREDICT = "1/m"
    settings.TRUSTED_PROXIES = 0
    first = client.post("/api/predict/", {"image": png()}, HTTP_X_FORWARDED_FOR="1.1.1.1")
    spoofed = client.post("/api/predict/", {"image": png()}, HTTP_X_FORWARDED_FOR="2.2.2.2")
    assert (first.status_code, spoofed.status_code) == (200, 429), "a spoofed header does not reset the limit"


def test_behind_cloud_runs_proxy_what_the_client_writes_in_the_header_does_not_count(client, settings):
    """Cloud Run's front end appends the address it was reached from; entries to its left are
    the client's own say."""
    settings.RATELIMIT_PREDICT = "1/m"
    settings.TRUSTED_PROXIES = 1
    first = client.post("/api/predict/", {"image": png()}, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7")
    spoofed = client.post("/api/predict/", {"image": png()}, HTTP_X_FORWARDED_FOR="2.2.2.2, 203.0.113.7")
    other = client.post("/api/predict/", {"image": png()}, HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert (first.status_code, spoofed.status_code, other.status_code) == (200, 429, 200)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "address"),
    [
        (0, "1.1.1.1", "10.0.0.9"),
        (1, "", "10.0.0.9"),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "1.1.1.1, 203.0.113.7", "203.0.113.7"),
        (2, "1.1.1.1, 203.0.113.7, 35.191.0.1", "203.0.113.7"),
        (2, "203.0.113.7", "203.0.113.7"),
    ],
)
def test_client_address_is_the_one_the_trusted_proxies_vouch_for(rf, settings, proxies, forwarded, address):
    settings.TRUSTED_PROXIES = proxies
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == address


def test_feedback_fingerprints_the_client_address_the_limits_use(client, settings):
    from feedback.models import Feedback
    from feedback.tests.factories import predicted_token

    settings.TRUSTED_PROXIES = 1
    for forwarded in ("1.1.1.1, 203.0.113.7", "2.2.2.2, 203.0.113.7", "203.0.113.8"):
        token, _ = predicted_token()
        body = json.dumps({"feedback_token": token, "label": 1})
        assert client.post("/api/feedback/", body, content_type="application/json",
                           HTTP_X_FORWARDED_FOR=forwarded).status_code == 201
    first, spoofed, other = Feedback.objects.order_by("pk").values_list("client_fingerprint", flat=True)
    assert first == spoofed != other


def test_admin_lockout_counts_the_client_behind_the_proxy(client, settings):
    settings.TRUSTED_PROXIES = 1
    User.objects.create_superuser("boss", "boss@example.com", "right-Password-42")
    for attempt in range(settings.AXES_FAILURE_LIMIT):  # a new spoofed entry every time
        client.post("/admin/login/", {"username": "boss", "password": "wrong"},
                    HTTP_X_FORWARDED_FOR=f"9.9.9.{attempt}, 203.0.113.7")
    locked = client.post("/admin/login/", {"username": "boss", "password": "right-Password-42"},
                         HTTP_X_FORWARDED_FOR="8.8.8.8, 203.0.113.7")
    assert locked.status_code == 429
    elsewhere = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": "right-Password-42"},
                            HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert elsewhere.status_code == 302, "the lockout is for that client, not every client"


def test_the_upload_page_counts_with_the_api_and_answers_a_page(client, settings):
    settings.RATELIMIT_PREDICT = "2/m"
    assert client.post("/api/predict/", {"image": png()}).status_code == 200
    assert client.post("/predict/", {"image": png()}).status_code == 200
    response = client.post("/predict/", {"image": png()})
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert response["Content-Type"].startswith("text/html") and "Too many requests" in response.content.decode()


def test_the_feedback_form_is_rate_limited(client, settings):
    settings.RATELIMIT_FEEDBACK = "1/m"
    assert client.post("/feedback/", {"feedback_token": "x", "label": 1}).status_code == 400
    response = client.post("/feedback/", {"feedback_token": "x", "label": 1})
    assert response.status_code == 429 and "Too many requests" in response.content.decode()


def test_feedback_api_is_rate_limited(client, settings):
    settings.RATELIMIT_FEEDBACK = "2/m"
    body = json.dumps({"feedback_token": "x", "label": 1})
    statuses = [client.post("/api/feedback/", body, content_type="application/json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_admin_login_is_throttled(client, settings):
    User.objects.create_superuser("boss", "boss@example.com", "right-Password-42")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "boss", "password": "wrong"})
    locked = client.post("/admin/login/", {"username": "boss", "password": "right-Password-42"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_admin_login_works_with_the_right_password(client):
    User.objects.create_superuser("boss", "boss@example.com", "right-Password-42")
    response = client.post("/admin/login/?next=/admin/", {"username": "boss", "password": "right-Password-42"})
    assert response.status_code == 302 and client.session.get("_auth_user_id")
