"""prune_originals: expired originals without feedback go; with feedback, or still fresh, they stay."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from feedback.models import Feedback
from feedback.retention import default_cutoff, prune_originals
from feedback.tests.factories import make_feedback

OLD = "uploads/2020/01/31"


@pytest.fixture
def originals(media_root):
    today = dt.date.today()
    names = {
        "old without feedback": default_storage.save(f"{OLD}/aaaa.jpg", ContentFile(b"a")),
        "old with feedback": default_storage.save(f"{OLD}/bbbb.jpg", ContentFile(b"b")),
        "fresh without feedback": default_storage.save(f"uploads/{today:%Y/%m/%d}/cccc.jpg", ContentFile(b"c")),
        "not ours": default_storage.save("uploads/2020/13/99/dddd.jpg", ContentFile(b"d")),
    }
    record = make_feedback()
    Feedback.objects.filter(pk=record.pk).update(original=names["old with feedback"])
    return names


def test_only_expired_originals_without_feedback_are_deleted(originals):
    report = prune_originals(cutoff=default_cutoff())
    assert (report.days, report.deleted, report.kept) == (1, 1, 1)
    assert not default_storage.exists(originals["old without feedback"])
    for kept in ("old with feedback", "fresh without feedback", "not ours"):
        assert default_storage.exists(originals[kept]), kept
    assert Feedback.objects.get().original.read() == b"b"


def test_dry_run_deletes_nothing(originals):
    report = prune_originals(cutoff=default_cutoff(), dry_run=True)
    assert report.deleted == 1
    assert all(default_storage.exists(name) for name in originals.values())


def test_cutoff_leaves_room_for_every_live_token(settings):
    settings.FEEDBACK_TOKEN_MAX_AGE = 7 * 24 * 3600
    now = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone.utc)
    assert default_cutoff(now=now) == dt.date(2026, 11, 16)  # days up to Nov 15 go: their tokens died by Nov 22


def test_command_reports_and_refuses_a_later_cutoff(originals, capsys):
    call_command("prune_originals", "--dry-run", "--before", "2099-01-01")  # clamped to the token cutoff
    assert "Would delete 1 original(s)" in capsys.readouterr().out
    assert default_storage.exists(originals["old without feedback"])
    call_command("prune_originals", verbosity=0)
    assert capsys.readouterr().out == ""
    assert not default_storage.exists(originals["old without feedback"])
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("prune_originals", "--before", "yesterday")


def test_no_uploads_folder_is_fine(media_root):
    assert prune_originals(cutoff=default_cutoff()).days == 0


def test_expired_originals_are_pruned_from_cloud_storage(cloud_bucket):
    """On Cloud Storage a folder is only a prefix of object names: there is no "uploads" object."""
    old = default_storage.save(f"{OLD}/aaaa.jpg", ContentFile(b"a"))
    fresh = default_storage.save(f"uploads/{dt.date.today():%Y/%m/%d}/cccc.jpg", ContentFile(b"c"))

    report = prune_originals(cutoff=default_cutoff())

    assert (report.days, report.deleted) == (1, 1)
    assert [blob.name for blob in cloud_bucket.list_blobs()] == [fresh]
    assert not default_storage.exists(old)


def test_an_empty_bucket_is_fine(cloud_bucket):
    assert prune_originals(cutoff=default_cutoff()).days == 0
