"""Review catches mistakes before training does: surprising records first, counted on approval."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from feedback.models import Feedback
from feedback.surprises import BURST_RECORDS, surprise_counts, surprising
from feedback.tests.factories import make_feedback
from feedback.tests.test_admin import CHANGELIST, reviewer  # noqa: F401 - the fixture


def probabilities(**chances: float) -> list[float]:
    """Ten probabilities, those named (d0…d9) as given and the rest sharing what is left."""
    given = {int(name[1:]): value for name, value in chances.items()}
    rest = (1.0 - sum(given.values())) / (10 - len(given))
    return [given.get(digit, rest) for digit in range(10)]


@pytest.fixture
def records() -> dict[str, Feedback]:
    made = {
        # the model was 97 % sure of 7; the user says 1, which it gave 2 %
        "sure and contradicted": make_feedback(predicted=7, label=1, probabilities=probabilities(d7=0.97, d1=0.02)),
        # unsure between 4 and 9 and wrong: an ordinary correction
        "ordinary correction": make_feedback(predicted=4, label=9, probabilities=probabilities(d4=0.5, d9=0.45)),
        # unsure and wrong, but the user's label got almost nothing
        "unlikely label": make_feedback(predicted=3, label=0, probabilities=probabilities(d3=0.6, d5=0.395, d0=0.0001)),
        "confirmed": make_feedback(predicted=2, label=2, probabilities=probabilities(d2=0.99)),
    }
    now = timezone.now()
    flood = [make_feedback(predicted=5, label=5, probabilities=probabilities(d5=0.99), fingerprint="flooder")
             for _ in range(BURST_RECORDS)]
    for minutes, record in enumerate(flood):  # 20 records in 20 minutes
        Feedback.objects.filter(pk=record.pk).update(created_at=now - dt.timedelta(minutes=minutes))
    made["flood"] = flood[0]
    slow = [make_feedback(predicted=5, label=5, probabilities=probabilities(d5=0.99), fingerprint="regular")
            for _ in range(BURST_RECORDS)]
    for hours, record in enumerate(slow):  # as many, one an hour
        Feedback.objects.filter(pk=record.pk).update(created_at=now - dt.timedelta(hours=hours))
    made["regular"] = slow[0]
    return made


def names(records: dict[str, Feedback], queryset) -> set[str]:
    found = set(queryset.values_list("pk", flat=True))
    return {name for name, record in records.items() if record.pk in found}


def test_each_kind_of_surprise_finds_its_records(records):
    everything = Feedback.objects.all()
    assert names(records, surprising(everything, kind="confident")) == {"sure and contradicted"}
    assert names(records, surprising(everything, kind="unlikely")) == {"unlikely label"}
    assert names(records, surprising(everything, kind="burst")) == {"flood"}
    assert names(records, surprising(everything)) == {"sure and contradicted", "unlikely label", "flood"}
    assert surprising(everything, kind="burst").count() == BURST_RECORDS, "the whole flood, not the regular client"


def test_a_label_corrected_by_the_reviewer_is_judged_by_the_new_label(records):
    record = records["unlikely label"]
    record.label = 5  # the reviewer sees it is a 5, which the model gave 39.5 %
    record.save()
    assert record.label_probability == pytest.approx(0.395)
    assert names(records, surprising(Feedback.objects.all(), kind="unlikely")) == set()


def test_the_admin_filters_them_and_sorts_the_least_believed_labels_first(client, reviewer, records):  # noqa: F811
    shown = client.get(f"{CHANGELIST}?surprise=confident").context["cl"].result_list
    assert names(records, shown) == {"sure and contradicted"}
    page = client.get(CHANGELIST)
    column = [field for field in page.context["cl"].list_display].index("label_belief")
    first = client.get(f"{CHANGELIST}?o={column}").context["cl"].result_list[0]
    assert first.pk == records["unlikely label"].pk
    assert "model&#x27;s belief in the label" in page.content.decode().lower()


def test_approving_a_batch_says_how_many_surprises_it_holds(client, reviewer, records):  # noqa: F811
    batch = [records[name].pk for name in ("sure and contradicted", "ordinary correction", "unlikely label", "flood")]
    response = client.post(CHANGELIST, {"action": "approve", "_selected_action": batch}, follow=True)
    text = response.content.decode()
    assert "Approved 4 record(s)." in text
    assert ("Of the records just approved: 1 the model was sure, the user disagrees; 1 a label the model gives "
            "under 1 %; 1 20+ from one client within an hour.") in text
    assert surprise_counts(Feedback.objects.filter(pk__in=batch)) == {"confident": 1, "unlikely": 1, "burst": 1}


def test_approving_an_ordinary_batch_says_nothing_more(client, reviewer, records):  # noqa: F811
    response = client.post(CHANGELIST, {"action": "approve", "_selected_action": [records["ordinary correction"].pk]},
                           follow=True)
    text = response.content.decode()
    assert "Approved 1 record(s)." in text and "Of the records just approved" not in text


def test_records_made_before_the_fields_get_them_when_the_database_migrates():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("feedback.migrations.0003_surprise_fields")
    record = make_feedback(predicted=7, label=1, probabilities=probabilities(d7=0.97, d1=0.02))
    Feedback.objects.filter(pk=record.pk).update(confidence=0.0, label_probability=0.0)  # as an older release left it

    migration.fill_from_probabilities(apps, None)

    record.refresh_from_db()
    assert record.confidence == pytest.approx(0.97) and record.label_probability == pytest.approx(0.02)


def test_each_row_says_why_it_is_surprising(client, reviewer, records):  # noqa: F811
    rows = {record.pk: record for record in client.get(f"{CHANGELIST}?surprise=any").context["cl"].result_list}
    from feedback.admin import FeedbackAdmin

    column = FeedbackAdmin.surprises
    assert column(None, rows[records["sure and contradicted"].pk]) == "the model was sure, the user disagrees"
    assert column(None, rows[records["unlikely label"].pk]) == "a label the model gives under 1 %"
    assert column(None, rows[records["flood"].pk]) == "20+ from one client within an hour"
    page = client.get(CHANGELIST).content.decode()
    assert "the model was sure, the user disagrees" in page
