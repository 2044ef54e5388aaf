"""Reading one uploaded digit: decode, prepare, classify, keep the original, sign a feedback token.

Views (HTML and JSON) are thin wrappers around `read_digit`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from predictor.inference import Prediction, get_classifier
from predictor.preprocessing import ImageLimits, open_image, prepare_digit
from predictor.tokens import make_feedback_token

logger = logging.getLogger(__name__)

#: Stored originals get a fresh name with the extension of the format Pillow recognised, and are
#: only ever served back with that format's image type; nothing the client sends (file name,
#: content type) reaches storage. Format → (extension, content type).
STORED_TYPES = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "BMP": ("bmp", "image/bmp"),
    "WEBP": ("webp", "image/webp"),
    "TIFF": ("tif", "image/tiff"),
}


#: Originals are stored by day, ORIGINALS_FOLDER/YYYY/MM/DD/<token id>.<ext> (feedback.retention
#: relies on it).
ORIGINALS_FOLDER = "uploads"


@dataclass(frozen=True)
class DigitReading:
    prediction: Prediction
    pixels: np.ndarray  # what the model saw, 28×28 uint8
    uncertain: bool
    feedback_token: str


def store_original(*, data: bytes, image_format: str, token_id: str) -> str:
    """Write an upload's original. The "originals" storage is the default storage's place (where
    `Feedback.original` reads it), with one request per write on Cloud Storage."""
    today = dt.datetime.now(dt.timezone.utc)
    name = f"{ORIGINALS_FOLDER}/{today:%Y/%m/%d}/{token_id}.{STORED_TYPES[image_format][0]}"
    return storages["originals"].save(name, ContentFile(data))


def read_digit(*, data: bytes, with_feature_maps: bool = False) -> DigitReading:
    """Raises `ImageRejected` (unreadable) or `NoDigitFound` (nothing digit-like in it)."""
    image, image_format = open_image(data, limits=ImageLimits(max_pixels=settings.MAX_IMAGE_PIXELS))
    pixels = prepare_digit(image)
    prediction = get_classifier().predict(pixels=pixels, with_feature_maps=with_feature_maps)
    token_id = uuid.uuid4().hex
    # A small original rides in the token and is written only if someone gives feedback on it:
    # most readings get none, and a write (a Cloud Storage round trip on Cloud Run) is skipped.
    inline = len(data) <= settings.INLINE_ORIGINAL_BYTES
    upload_name = ""
    if not inline:
        try:
            upload_name = store_original(data=data, image_format=image_format, token_id=token_id)
        except Exception:  # noqa: BLE001 - storage down (bucket outage, full disk): the reading still counts
            logger.exception("could not store an original; feedback on it will keep only the model input")
    token = make_feedback_token(
        token_id=token_id,
        upload_name=upload_name,
        original=data if inline else b"",
        original_format=image_format if inline else "",
        pixels=pixels,
        predicted_digit=prediction.digit,
        probabilities=prediction.probabilities,
        model_version=prediction.model_version,
    )
    return DigitReading(
        prediction=prediction,
        pixels=pixels,
        uncertain=prediction.confidence < settings.UNSURE_BELOW,
        feedback_token=token,
    )
