"""Recording a user's correction and reviewing it: the rules, kept out of views and admin."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from feedback.models import Feedback
from predictor.services import store_original
from predictor.tokens import InvalidToken, read_feedback_token


ASCII_DIGITS = frozenset("0123456789")


class FeedbackRejected(ValueError):
    """The feedback cannot be recorded; the message is for the client."""


class FeedbackUnavailable(RuntimeError):
    """Storage cannot take the record right now; the same token may be sent again later."""


@dataclass(frozen=True)
class FeedbackOutcome:
    feedback: Feedback
    created: bool


def parse_label(value: object) -> int:
    """A digit 0‥9 given as an int or a string of one digit; anything else is refused."""
    if isinstance(value, bool):
        raise FeedbackRejected("label must be a digit from 0 to 9.")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip() in ASCII_DIGITS:
        number = int(value.strip())
    else:
        raise FeedbackRejected("label must be a digit from 0 to 9.")
    if not 0 <= number <= 9:
        raise FeedbackRejected("label must be a digit from 0 to 9.")
    return number


def client_fingerprint(*, address: str, user_agent: str) -> str:
    """Keyed hash: the same client maps to the same value, but the address cannot be read back."""
    key = hashlib.sha256(("feedback-fingerprint:" + settings.SECRET_KEY).encode()).digest()
    message = f"{address}\n{user_agent}".encode("utf-8", "replace")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def record_feedback(*, token: object, label: object, fingerprint: str = "") -> FeedbackOutcome:
    """Store the correction carried by `token`, once: a second call with it returns the first record."""
    if not isinstance(token, str):
        raise FeedbackRejected("feedback_token is missing or malformed.")
    try:
        ticket = read_feedback_token(token, max_age=settings.FEEDBACK_TOKEN_MAX_AGE)
    except InvalidToken as error:
        raise FeedbackRejected(str(error)) from error
    digit = parse_label(label)
    existing = Feedback.objects.filter(token_id=ticket.token_id).first()
    if existing is not None:
        return FeedbackOutcome(existing, created=False)
    original = ticket.upload_name
    if ticket.original:
        try:
            original = store_original(data=ticket.original, image_format=ticket.original_format, token_id=ticket.token_id)
        except Exception as error:  # noqa: BLE001 - storage down (bucket outage, full disk)
            raise FeedbackUnavailable("Feedback cannot be stored right now; please try again later.") from error
    record = Feedback(
        token_id=ticket.token_id,
        original=original,
        model_input=ticket.pixels.tobytes(),
        predicted_digit=ticket.predicted_digit,
        probabilities=ticket.probabilities,
        model_version=ticket.model_version,
        label=digit,
        user_label=digit,
        user_said_correct=digit == ticket.predicted_digit,
        client_fingerprint=fingerprint,
    )
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # the same token raced in from another request
        if ticket.original:
            default_storage.delete(original)  # that request stored its own copy
        return FeedbackOutcome(Feedback.objects.get(token_id=ticket.token_id), created=False)
    return FeedbackOutcome(record, created=True)


def review(*, records: QuerySet[Feedback], status: str, reviewer) -> int:
    """Approve or reject records; returns how many changed."""
    if status not in (Feedback.Status.APPROVED, Feedback.Status.REJECTED):
        raise ValueError(f"not a review decision: {status}")
    return records.exclude(status=status).update(status=status, reviewed_by=reviewer, reviewed_at=timezone.now())
