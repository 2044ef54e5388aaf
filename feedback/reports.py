"""Counts that tell a reviewer where the model fails."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from feedback.models import Feedback


@dataclass(frozen=True)
class ConfusionTable:
    model_version: str
    counts: list[list[int]]  # counts[confirmed][predicted]

    @property
    def total(self) -> int:
        return sum(map(sum, self.counts))

    @property
    def correct(self) -> int:
        return sum(self.counts[digit][digit] for digit in range(10))

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def rows(self) -> list[tuple[int, list[int], int]]:
        """(confirmed digit, counts per predicted digit, how many of this digit were misread)."""
        return [(digit, row, sum(row) - row[digit]) for digit, row in enumerate(self.counts)]


def confusion_by_version() -> list[ConfusionTable]:
    """Predicted vs confirmed label over approved feedback, one table per model version."""
    cells = (
        Feedback.objects.filter(status=Feedback.Status.APPROVED)
        .values("model_version", "label", "predicted_digit")
        .annotate(n=Count("id"))
        .order_by("model_version")
    )
    tables: dict[str, list[list[int]]] = {}
    for cell in cells:
        counts = tables.setdefault(cell["model_version"], [[0] * 10 for _ in range(10)])
        counts[cell["label"]][cell["predicted_digit"]] += cell["n"]
    return [ConfusionTable(model_version=version, counts=counts) for version, counts in tables.items()]
