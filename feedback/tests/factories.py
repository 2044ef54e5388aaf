"""Building feedback the way users create it: a real prediction, then a label."""

from __future__ import annotations

import uuid

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from feedback.models import Feedback
from predictor.reading import read_number
from predictor.tests import renders


def predicted_token(pixels: np.ndarray | None = None) -> tuple[str, int]:
    """A real feedback token from the real prediction path, and the digit it predicted."""
    if pixels is None:
        pixels = renders.mnist_samples()[0][0]
    reading = read_number(data=renders.encode(Image.fromarray(np.asarray(pixels, dtype=np.uint8))))
    return reading.feedback_token, reading.digits[0].prediction.digit


def make_feedback(
    *,
    label: int = 7,
    predicted: int = 7,
    status: str = Feedback.Status.PENDING,
    model_version: str = "base-test",
    pixels: np.ndarray | None = None,
    token_id: str | None = None,
    original: bytes | None = None,
    extension: str = "png",
    probabilities: list[float] | None = None,
    fingerprint: str = "",
) -> Feedback:
    """A stored record without going through the API (for admin, reports and finetune tests); its
    original is the 28×28 `pixels` as a PNG unless `original` (stored with `extension`) is given."""
    pixels = np.zeros((28, 28), np.uint8) if pixels is None else np.asarray(pixels, dtype=np.uint8)
    token_id = token_id or uuid.uuid4().hex
    if original is None:
        original = renders.encode(Image.fromarray(pixels))
    stored_name = default_storage.save(f"uploads/test/{token_id}.{extension}", ContentFile(original))
    if probabilities is None:
        probabilities = [0.0] * 10
        probabilities[predicted] = 0.9
        probabilities[(predicted + 1) % 10] = 0.1
    return Feedback.objects.create(
        token_id=token_id,
        original=stored_name,
        model_input=pixels.tobytes(),
        predicted_digit=predicted,
        probabilities=probabilities,
        model_version=model_version,
        label=label,
        user_label=label,
        user_said_correct=label == predicted,
        status=status,
        reviewed_at=None if status == Feedback.Status.PENDING else timezone.now(),
        client_fingerprint=fingerprint,
    )


def number_picture(digits: str, *, seed: int = 0, rendering: str = "scan") -> bytes:
    """A picture of the number `digits` written with the MNIST samples shipped with the tests."""
    from training.number_pictures import compose, render

    samples, labels = renders.mnist_samples()
    by_digit = {int(label): samples[index] for index, label in enumerate(labels)}
    rng = np.random.default_rng(seed)
    ink, _ = compose([by_digit[int(digit)] for digit in digits], rng=rng, spacing="apart")
    return render(ink, rendering=rendering, rng=rng)[0]
