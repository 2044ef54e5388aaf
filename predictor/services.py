"""Keeping an upload's original: where and under which name it is stored."""

from __future__ import annotations

import datetime as dt
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import storages

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


#: Originals are stored by day, ORIGINALS_FOLDER/YYYY/MM/DD/<token id>-<random>.<ext>
#: (feedback.retention relies on the folders).
ORIGINALS_FOLDER = "uploads"


def store_original(*, data: bytes, image_format: str, token_id: str) -> str:
    """Write an upload's original. The "originals" storage is the default storage's place (where
    `Feedback.original` reads it), with one request per write on Cloud Storage.

    Every write gets a name of its own: Cloud Storage refuses to overwrite one, so feedback sent
    again after a failed attempt (database down) must not meet the name that attempt took."""
    today = dt.datetime.now(dt.timezone.utc)
    name = f"{ORIGINALS_FOLDER}/{today:%Y/%m/%d}/{token_id}-{secrets.token_hex(4)}.{STORED_TYPES[image_format][0]}"
    return storages["originals"].save(name, ContentFile(data))
