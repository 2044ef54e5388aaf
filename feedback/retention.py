"""Deleting stored originals nobody gave feedback on, once their feedback token has expired.

A picture larger than INLINE_ORIGINAL_BYTES is stored when it is read, so that feedback can refer
to it. When its token has expired without feedback, nothing can refer to it any more, and keeping
it only costs storage and keeps a stranger's picture. Originals live under uploads/YYYY/MM/DD/, so
only days wholly past the cutoff are listed; files a Feedback record refers to are always kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from feedback.models import Feedback
from predictor.services import ORIGINALS_FOLDER as UPLOADS


@dataclass
class PruneReport:
    cutoff: dt.date  # days before this one were looked at
    days: int = 0
    kept: int = 0  # referenced by feedback
    deleted: int = 0  # or, in a dry run, would be


def default_cutoff(*, now: dt.datetime | None = None) -> dt.date:
    """The first day whose originals may still get feedback: a token issued at the end of a day
    lives FEEDBACK_TOKEN_MAX_AGE seconds past that day's end."""
    now = now or timezone.now()
    return (now - dt.timedelta(seconds=settings.FEEDBACK_TOKEN_MAX_AGE) - dt.timedelta(days=1)).date()


def _subfolders(folder: str) -> list[str]:
    """The folders in `folder`, none if it does not exist. Not `exists(folder)` first: on Cloud
    Storage a folder is only a prefix of object names, so no folder "exists" there."""
    try:
        return default_storage.listdir(folder)[0]
    except FileNotFoundError:  # local files: no upload stored yet
        return []


def _day_folders() -> list[tuple[dt.date, str]]:
    folders = []
    for year in _subfolders(UPLOADS):
        for month in _subfolders(f"{UPLOADS}/{year}"):
            for day in _subfolders(f"{UPLOADS}/{year}/{month}"):
                try:
                    date = dt.date(int(year), int(month), int(day))
                except ValueError:
                    continue  # not a folder this app made
                folders.append((date, f"{UPLOADS}/{year}/{month}/{day}"))
    return sorted(folders)


def prune_originals(
    *,
    cutoff: dt.date,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda message: None,
) -> PruneReport:
    report = PruneReport(cutoff=cutoff)
    for date, folder in _day_folders():
        if date >= cutoff:
            continue
        report.days += 1
        referenced = set(Feedback.objects.filter(original__startswith=folder + "/").values_list("original", flat=True))
        for filename in default_storage.listdir(folder)[1]:
            name = f"{folder}/{filename}"
            if name in referenced:
                report.kept += 1
                continue
            if not dry_run:
                default_storage.delete(name)
            report.deleted += 1
        progress(f"{folder}: {len(referenced)} kept for feedback")
    return report
