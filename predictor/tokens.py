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


def max_token_length() -> int:
    """The longest token this configuration makes, with room to spare: the 28×28 input and the
    rest (< 4 k characters) plus an inline original, base64 twice at worst (≈ 1.8× its bytes)."""
    return 24_000 + 2 * settings.INLINE_ORIGINAL_BYTES  # ≈ 40 k characters with the default 8 KiB


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
    original: bytes = b""  # a small upload's bytes, stored only if feedback comes
    original_format: str = ""  # the format Pillow recognised in `original`


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
) -> str:
    """Give either `upload_name` (the original is stored) or `original` and its format."""
    payload = {
        "id": token_id,
        "u": upload_name,
        "x": base64.b64encode(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).decode(),
        "d": predicted_digit,
        "p": [round(p, 6) for p in probabilities],
        "v": model_version,
    }
    if original:
        payload["o"], payload["f"] = base64.b64encode(original).decode(), original_format
    return signing.dumps(payload, salt=SALT, compress=True)


def read_feedback_token(token: str, *, max_age: int) -> FeedbackTicket:
    if not isinstance(token, str) or not token or len(token) > max_token_length():
        raise InvalidToken("feedback_token is missing or malformed.")
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise InvalidToken("feedback_token has expired; predict again to get a new one.") from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidToken("feedback_token is invalid or has been tampered with.") from error
    try:
        pixels = np.frombuffer(base64.b64decode(payload["x"]), dtype=np.uint8).reshape(28, 28)
        return FeedbackTicket(
            token_id=str(payload["id"]),
            upload_name=str(payload["u"]),
            pixels=pixels,
            predicted_digit=int(payload["d"]),
            probabilities=[float(p) for p in payload["p"]],
            model_version=str(payload["v"]),
            original=base64.b64decode(payload.get("o", "")),
            original_format=str(payload.get("f", "")),
        )
    except (KeyError, ValueError, TypeError) as error:
        raise InvalidToken("feedback_token is invalid or has been tampered with.") from error
