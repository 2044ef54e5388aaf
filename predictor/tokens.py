"""Feedback tokens: everything a later correction needs, signed so nobody can forge one.

The token travels to the client with the prediction and comes back with the user's label. It
carries the model's 28×28 input, the prediction, the model version and either the stored
original's name or, for a small upload, the original itself, so the feedback endpoint stores
exactly what the model saw without trusting the client.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core import signing

SALT = "predictor.feedback-token"


#: A reading's token carries each digit's 28×28 input and probabilities: at most this many
#: characters a digit, base64 twice at worst.
DIGIT_TOKEN_CHARACTERS = 4_000


def max_token_length() -> int:
    """The longest token this configuration makes, with room to spare: the 28×28 inputs and the
    rest (< 4 k characters a digit) plus an inline original or crop, base64 twice at worst (≈ 1.8×
    its bytes)."""
    from predictor.segmentation import MAX_DIGITS

    # ≈ 88 k characters with the default 8 KiB
    return 24_000 + 2 * settings.INLINE_ORIGINAL_BYTES + MAX_DIGITS * DIGIT_TOKEN_CHARACTERS


class InvalidToken(ValueError):
    """The token is forged, damaged or too old; the message says which, for the client."""


@dataclass(frozen=True)
class FeedbackTicket:
    token_id: str
    upload_name: str  # "" when the original travels in the token
    pixels: np.ndarray  # 28×28 uint8
    predicted_digit: int
    probabilities: list[float]
    model_version: str
    original: bytes = b""  # a small upload's bytes (or a digit's crop), stored only if feedback comes
    original_format: str = ""  # the format Pillow recognised in `original`
    reading_id: str = ""  # the number this digit was read in ("" for a picture of one digit)
    position: int | None = None  # its place in that number, from 0 on the left
    box: list[int] | None = None  # x, y, width, height in the uploaded picture


@dataclass(frozen=True)
class ReadingTicket:
    """A whole number's reading: its digits as each digit's ticket would carry them."""

    reading_id: str
    upload_name: str
    model_version: str
    digits: list[FeedbackTicket]
    original: bytes = b""
    original_format: str = ""

    @property
    def number(self) -> str:
        return "".join(str(digit.predicted_digit) for digit in self.digits)


def make_feedback_token(
    *,
    token_id: str,
    pixels: np.ndarray,
    predicted_digit: int,
    probabilities: list[float],
    model_version: str,
    upload_name: str = "",
    original: bytes = b"",
    original_format: str = "",
    reading_id: str = "",
    position: int | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> str:
    """Give either `upload_name` (the original is stored) or `original` and its format; a digit of
    a number also its `reading_id`, `position` and `box`."""
    payload = _digit_payload(
        token_id=token_id, pixels=pixels, predicted_digit=predicted_digit, probabilities=probabilities
    )
    payload.update(u=upload_name, v=model_version)
    if original:
        payload["o"], payload["f"] = base64.b64encode(original).decode(), original_format
    if reading_id:
        payload.update(r=reading_id, i=position, b=list(box or ()))
    return signing.dumps(payload, salt=SALT, compress=True)


def _digit_payload(*, token_id: str, pixels: np.ndarray, predicted_digit: int, probabilities: list[float]) -> dict:
    return {
        "id": token_id,
        "x": base64.b64encode(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).decode(),
        "d": predicted_digit,
        "p": [round(p, 6) for p in probabilities],
    }


@dataclass(frozen=True)
class ReadDigit:
    """What a reading's token keeps of each digit."""

    token_id: str
    pixels: np.ndarray
    predicted_digit: int
    probabilities: list[float]
    box: tuple[int, int, int, int]


def make_reading_token(
    *,
    reading_id: str,
    digits: list[ReadDigit],
    model_version: str,
    upload_name: str = "",
    original: bytes = b"",
    original_format: str = "",
) -> str:
    """The token of a whole number: feedback with the whole number as its label comes with it."""
    payload = {"k": "n", "id": reading_id, "u": upload_name, "v": model_version, "ds": [
        {**_digit_payload(token_id=digit.token_id, pixels=digit.pixels, predicted_digit=digit.predicted_digit,
                          probabilities=digit.probabilities), "b": list(digit.box)}
        for digit in digits
    ]}
    if original:
        payload["o"], payload["f"] = base64.b64encode(original).decode(), original_format
    return signing.dumps(payload, salt=SALT, compress=True)


def _digit_ticket(payload: dict, *, reading: dict) -> FeedbackTicket:
    box = reading.get("b", payload.get("b"))
    return FeedbackTicket(
        token_id=str(payload["id"]),
        upload_name=str(reading["u"]),
        pixels=np.frombuffer(base64.b64decode(payload["x"]), dtype=np.uint8).reshape(28, 28),
        predicted_digit=int(payload["d"]),
        probabilities=[float(p) for p in payload["p"]],
        model_version=str(reading["v"]),
        original=base64.b64decode(reading.get("o", "")),
        original_format=str(reading.get("f", "")),
        reading_id=str(reading.get("r", "")),
        position=int(reading["i"]) if reading.get("i") is not None else None,
        box=[int(value) for value in box] if box else None,
    )


def read_feedback_token(token: str, *, max_age: int) -> FeedbackTicket | ReadingTicket:
    if not isinstance(token, str) or not token or len(token) > max_token_length():
        raise InvalidToken("feedback_token is missing or malformed.")
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise InvalidToken("feedback_token has expired; predict again to get a new one.") from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidToken("feedback_token is invalid or has been tampered with.") from error
    try:
        if payload.get("k") == "n":
            digits = [
                _digit_ticket(digit, reading={"u": payload["u"], "v": payload["v"], "r": payload["id"], "i": index,
                                              "b": digit["b"]})
                for index, digit in enumerate(payload["ds"])
            ]
            return ReadingTicket(
                reading_id=str(payload["id"]),
                upload_name=str(payload["u"]),
                model_version=str(payload["v"]),
                digits=digits,
                original=base64.b64decode(payload.get("o", "")),
                original_format=str(payload.get("f", "")),
            )
        return _digit_ticket(payload, reading=payload)
    except (KeyError, ValueError, TypeError, AttributeError) as error:
        raise InvalidToken("feedback_token is invalid or has been tampered with.") from error
