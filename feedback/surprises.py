"""Feedback a reviewer should look at first: records that may be mistakes, or floods.

Three kinds, each a filter in the admin and counted when a batch is approved:
- the model was sure of its answer and the user says it is another digit;
- the label is one the model gives almost no chance for that picture (a slip of the finger, or a
  batch labelled wrong on purpose);
- many records from one client fingerprint within an hour (one person or script flooding).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    BooleanField, Count, DateTimeField, ExpressionWrapper, F, IntegerField, OuterRef, Q, QuerySet, Subquery,
)
from django.db.models.functions import Coalesce

from feedback.models import Feedback

#: The model gave its answer at least this probability, and the user disagrees.
SURE = 0.9
#: The model gave the user's label less than this probability.
UNLIKELY = 0.01
#: This many records from one client fingerprint within BURST_WINDOW of a record make a burst.
BURST_RECORDS = 20
BURST_WINDOW = dt.timedelta(hours=1)

KINDS = {
    "confident": "the model was sure, the user disagrees",
    "unlikely": "a label the model gives under 1 %",
    "burst": f"{BURST_RECORDS}+ from one client within an hour",
}


def with_burst_sizes(records: QuerySet[Feedback]) -> QuerySet[Feedback]:
    """`burst_size`: how many records the same client fingerprint sent within half of BURST_WINDOW
    either side of each record (0 without a fingerprint)."""
    half = BURST_WINDOW / 2
    neighbours = (
        Feedback.objects.filter(
            client_fingerprint=OuterRef("client_fingerprint"),
            created_at__gte=ExpressionWrapper(OuterRef("created_at") - half, output_field=DateTimeField()),
            created_at__lte=ExpressionWrapper(OuterRef("created_at") + half, output_field=DateTimeField()),
        )
        .exclude(client_fingerprint="")
        .order_by()
        .values("client_fingerprint")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return records.annotate(burst_size=Coalesce(Subquery(neighbours, output_field=IntegerField()), 0))


def condition(kind: str) -> Q:
    """The records of one kind of surprise (on a queryset from `with_burst_sizes`)."""
    if kind == "confident":
        return Q(confidence__gte=SURE) & ~Q(label=F("predicted_digit"))
    if kind == "unlikely":
        return Q(label_probability__lt=UNLIKELY)
    if kind == "burst":
        return Q(burst_size__gte=BURST_RECORDS)
    raise ValueError(f"not a kind of surprise: {kind}")


def surprising(records: QuerySet[Feedback], *, kind: str = "any") -> QuerySet[Feedback]:
    """The records of `kind` ("any": of any kind)."""
    records = with_burst_sizes(records)
    if kind == "any":
        return records.filter(condition("confident") | condition("unlikely") | condition("burst"))
    return records.filter(condition(kind))


def with_surprises(records: QuerySet[Feedback]) -> QuerySet[Feedback]:
    """`with_burst_sizes`, and `is_<kind>` for each kind of surprise, decided by the database."""
    return with_burst_sizes(records).annotate(
        **{f"is_{kind}": ExpressionWrapper(condition(kind), output_field=BooleanField()) for kind in KINDS}
    )


def kinds_of(record: Feedback) -> list[str]:
    """The kinds of surprise one record from `with_surprises` is."""
    return [kind for kind in KINDS if getattr(record, f"is_{kind}")]


def surprise_counts(records: QuerySet[Feedback]) -> dict[str, int]:
    """How many of `records` are of each kind (a record may be of several)."""
    return with_burst_sizes(records).aggregate(
        **{kind: Count("pk", filter=condition(kind)) for kind in KINDS}
    )
