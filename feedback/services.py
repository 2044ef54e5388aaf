"""Recording a user's correction and reviewing it: the rules, kept out of views and admin."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from PIL import Image

from feedback.models import MAX_NUMBER_DIGITS, Feedback, NumberFeedback
from predictor.preprocessing import ImageLimits, ImageRejected, open_image
from predictor.reading import crop_png
from predictor.services import store_original
from predictor.tokens import FeedbackTicket, InvalidToken, ReadingTicket, read_feedback_token


ASCII_DIGITS = frozenset("0123456789")
logger = logging.getLogger(__name__)


class FeedbackRejected(ValueError):
    """The feedback cannot be recorded; the message is for the client."""


class FeedbackUnavailable(RuntimeError):
    """Storage cannot take the record right now; the same token may be sent again later."""


@dataclass(frozen=True)
class FeedbackOutcome:
    feedback: Feedback
    created: bool


@dataclass(frozen=True)
class NumberOutcome:
    """Feedback on a whole number: its record, and the digits' records when the count matched."""

    number: NumberFeedback
    digits: list[Feedback]
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


def parse_number(value: object) -> str:
    """A whole number given as a string of 1‥12 digits (leading zeros kept) or a non-negative int."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if isinstance(value, str):
        value = value.strip()
        if 1 <= len(value) <= MAX_NUMBER_DIGITS and all(character in ASCII_DIGITS for character in value):
            return value
    raise FeedbackRejected(f"label must be the whole number: 1 to {MAX_NUMBER_DIGITS} digits 0-9, e.g. \"2026\".")


def client_fingerprint(*, address: str, user_agent: str) -> str:
    """Keyed hash: the same client maps to the same value, but the address cannot be read back."""
    key = hashlib.sha256(("feedback-fingerprint:" + settings.SECRET_KEY).encode()).digest()
    message = f"{address}\n{user_agent}".encode("utf-8", "replace")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def record_feedback(*, token: object, label: object, fingerprint: str = "") -> FeedbackOutcome | NumberOutcome:
    """Store the correction carried by `token`, once: a second call with it returns the first
    record. A digit's token takes a digit 0‥9; a whole reading's token takes the whole number."""
    if not isinstance(token, str):
        raise FeedbackRejected("feedback_token is missing or malformed.")
    try:
        ticket = read_feedback_token(token, max_age=settings.FEEDBACK_TOKEN_MAX_AGE)
    except InvalidToken as error:
        raise FeedbackRejected(str(error)) from error
    if isinstance(ticket, ReadingTicket):
        return _record_number(ticket, number=parse_number(label), fingerprint=fingerprint)
    digit = parse_label(label)
    existing = Feedback.objects.filter(token_id=ticket.token_id).first()
    if existing is not None:
        return FeedbackOutcome(existing, created=False)
    original = _stored(ticket.upload_name, data=ticket.original, image_format=ticket.original_format,
                       name=ticket.token_id)
    record = _digit_record(ticket, digit=digit, original=original, fingerprint=fingerprint)
    stored_now = [original] if ticket.original else []
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:  # the same token raced in from another request, which stored its own copy
        _forget(stored_now)
        return FeedbackOutcome(Feedback.objects.get(token_id=ticket.token_id), created=False)
    except DatabaseError:
        _forget(stored_now)  # the retry stores its own
        raise
    return FeedbackOutcome(record, created=True)


def _forget(names: list[str]) -> None:
    """Delete originals stored for a record that was not saved; one left behind (storage down
    too) is pruned with the other unreferenced originals (feedback.retention)."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # noqa: BLE001 - best effort; the answer to the client does not change
            logger.warning("could not delete the unused original %s", name, exc_info=True)


def _stored(upload_name: str, *, data: bytes, image_format: str, name: str) -> str:
    """The stored original's name: `upload_name` if it was stored when read, else `data` stored now."""
    if not data:
        return upload_name
    try:
        return store_original(data=data, image_format=image_format, token_id=name)
    except Exception as error:  # noqa: BLE001 - storage down (bucket outage, full disk)
        raise FeedbackUnavailable("Feedback cannot be stored right now; please try again later.") from error


def _digit_record(ticket: FeedbackTicket, *, digit: int, original: str, fingerprint: str) -> Feedback:
    return Feedback(
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
        reading_id=ticket.reading_id,
        position=ticket.position,
        box=ticket.box,
    )


def _original_picture(ticket: ReadingTicket) -> Image.Image | None:
    """The reading's whole picture, opened as it was when read; None when none was kept."""
    data = ticket.original
    if not data and ticket.upload_name:
        try:
            with default_storage.open(ticket.upload_name, "rb") as stored:
                data = stored.read()
        except FileNotFoundError:
            return None
        except Exception as error:  # noqa: BLE001 - storage down
            raise FeedbackUnavailable("Feedback cannot be stored right now; please try again later.") from error
    if not data:
        return None
    try:
        return open_image(data, limits=ImageLimits(max_pixels=settings.MAX_IMAGE_PIXELS), side=None)[0]
    except ImageRejected:
        return None


def _record_number(ticket: ReadingTicket, *, number: str, fingerprint: str) -> NumberOutcome:
    """The whole reading's record; and, when `number` has as many digits as were read, a record for
    each digit (one already sent with the digit's own token is kept as it is)."""
    existing = NumberFeedback.objects.filter(reading_id=ticket.reading_id).first()
    if existing is not None:
        return NumberOutcome(existing, list(Feedback.objects.filter(reading_id=ticket.reading_id)), created=False)
    original = _stored(ticket.upload_name, data=ticket.original, image_format=ticket.original_format,
                       name=ticket.reading_id)
    number_record = NumberFeedback(
        reading_id=ticket.reading_id,
        original=original,
        boxes=[digit.box for digit in ticket.digits],
        number_read=ticket.number,
        label=number,
        model_version=ticket.model_version,
        client_fingerprint=fingerprint,
    )
    digit_records = []
    stored_now = [original] if ticket.original else []
    if len(number) == len(ticket.digits):
        picture = _original_picture(ticket)
        known = set(Feedback.objects.filter(token_id__in=[d.token_id for d in ticket.digits]).values_list("token_id", flat=True))
        for digit, label in zip(ticket.digits, number):
            if digit.token_id in known:
                continue
            crop = _stored("", data=crop_png(picture, digit.box), image_format="PNG", name=digit.token_id) if picture is not None else ""
            stored_now += [crop] if crop else []
            digit_records.append(_digit_record(digit, digit=int(label), original=crop, fingerprint=fingerprint))
    try:
        with transaction.atomic():
            number_record.save()
            for record in digit_records:
                record.reading_id = ticket.reading_id
                record.save()
    except IntegrityError:  # the same token raced in from another request, which stored its own copies
        _forget(stored_now)
        return NumberOutcome(
            NumberFeedback.objects.get(reading_id=ticket.reading_id),
            list(Feedback.objects.filter(reading_id=ticket.reading_id)),
            created=False,
        )
    except DatabaseError:
        _forget(stored_now)
        raise
    return NumberOutcome(number_record, list(Feedback.objects.filter(reading_id=ticket.reading_id)), created=True)


def review(*, records: QuerySet[Feedback] | QuerySet[NumberFeedback], status: str, reviewer) -> int:
    """Approve or reject records (digits or whole numbers); returns how many changed."""
    if status not in (Feedback.Status.APPROVED, Feedback.Status.REJECTED):
        raise ValueError(f"not a review decision: {status}")
    return records.exclude(status=status).update(status=status, reviewed_by=reviewer, reviewed_at=timezone.now())
