"""Malformed admin requests answer 400, not 500, and change nothing."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models

from feedback.models import Feedback
from feedback.tests.factories import make_feedback
from mnistsite.admin import SiteAdmin

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(User.objects.create_superuser("root", email="root@example.com", password="pw-Secret-123"))
    return client


@pytest.mark.parametrize(
    "address",
    ["/admin/feedback/feedback/?status__exact=%00", "/admin/feedback/feedback/?model_version=a%00b",
     "/admin/training/modelversion/?status__exact=%00", "/admin/auth/user/?is_staff__exact=%00"],
)
def test_nul_character_in_a_list_filter_is_a_bad_request(superuser_client, address):
    """PostgreSQL refuses text holding NUL; the query used to fail with ValueError, a 500."""
    make_feedback()
    assert superuser_client.get(address).status_code == 400


@pytest.mark.parametrize("selected", [["abc"], ["1", "x"], ["\x00"]], ids=["letters", "one bad", "nul"])
def test_action_on_ids_that_are_not_ids_is_a_bad_request_and_changes_nothing(superuser_client, selected):
    record = make_feedback()
    response = superuser_client.post("/admin/feedback/feedback/", {"action": "approve", "_selected_action": selected})
    assert response.status_code == 400
    record.refresh_from_db()
    assert record.status == Feedback.Status.PENDING


def test_well_formed_requests_still_work(superuser_client):
    record = make_feedback()
    assert superuser_client.get("/admin/feedback/feedback/?status__exact=pending&q=base").status_code == 200
    superuser_client.post("/admin/feedback/feedback/", {"action": "approve", "_selected_action": [str(record.pk)]})
    record.refresh_from_db()
    assert record.status == Feedback.Status.APPROVED


def test_every_model_in_the_admin_has_an_integer_key():
    """SiteAdmin refuses selected ids that are not digits: true only while every key is an integer."""
    assert isinstance(admin.site, SiteAdmin)
    for model in admin.site._registry:
        assert isinstance(model._meta.pk, (models.AutoField, models.BigAutoField, models.IntegerField)), model
