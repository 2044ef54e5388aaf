"""Small previews of stored originals for the review list.

A page of the list shows 50 originals at 56 px. Sent whole, a page of phone photos weighs several
megabytes (the upload page sends a photo at ≈ 150 KB, an API client up to the 5 MB limit); these
previews are a few kilobytes each.
"""

from __future__ import annotations

import io

from django.conf import settings
from PIL import Image

from predictor.preprocessing import ImageLimits, grey_picture, open_image

#: The list shows originals at 56 px; twice that stays sharp on high-density screens.
THUMBNAIL_SIDE = 112


def thumbnail(*, data: bytes, side: int = THUMBNAIL_SIDE) -> tuple[bytes, str]:
    """The picture in `data`, upright and at most `side` px: (bytes, content type). A photo (JPEG)
    stays in colour, as a JPEG decoded straight at about that size; anything else is shown as the
    preprocessing reads it, a grey PNG (16-bit scans stretched, transparent canvases on a backdrop
    that keeps their strokes visible). Raises `ImageRejected` for what cannot be decoded."""
    image, image_format = open_image(data, limits=ImageLimits(max_pixels=settings.MAX_IMAGE_PIXELS),
                                     side=side, jpeg_mode="RGB")
    photo = image_format == "JPEG"
    preview = image.convert("RGB") if photo else grey_picture(image)
    preview.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    preview.save(buffer, "JPEG" if photo else "PNG", **({"quality": 85} if photo else {}))
    return buffer.getvalue(), "image/jpeg" if photo else "image/png"
