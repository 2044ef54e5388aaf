"""Small previews of stored originals for the review list.

A page of the list shows 50 originals at 56 px. Sent whole, a page of phone photos weighs several
megabytes (the upload page sends a photo at ≈ 150 KB, an API client up to the 5 MB limit); these
previews are a few kilobytes each.
"""

from __future__ import annotations

import io

from django.conf import settings
from PIL import Image, ImageDraw

from predictor.preprocessing import UPLOAD_SCALE, ImageLimits, grey_picture, open_image

#: The list shows originals at 56 px; twice that stays sharp on high-density screens.
THUMBNAIL_SIDE = 112
#: Each digit's box on a number's picture, in a colour that shows on ink and paper alike.
BOX_COLOUR = (230, 40, 120)


def thumbnail(*, data: bytes, side: int = THUMBNAIL_SIDE, boxes: list[list[int]] | None = None) -> tuple[bytes, str]:
    """The picture in `data`, upright and at most `side` px: (bytes, content type). A photo (JPEG)
    stays in colour, as a JPEG decoded straight at about that size; anything else is shown as the
    preprocessing reads it, a grey PNG (16-bit scans stretched, transparent canvases on a backdrop
    that keeps their strokes visible). `boxes` ([x, y, width, height] in the uploaded file's
    pixels) are drawn on it, numbered, in colour. Raises `ImageRejected` for what cannot be decoded."""
    image, image_format = open_image(data, limits=ImageLimits(max_pixels=settings.MAX_IMAGE_PIXELS),
                                     side=side, jpeg_mode="RGB")
    photo = image_format == "JPEG"
    preview = image.convert("RGB") if photo else grey_picture(image)
    full_width = image.width * image.info.get(UPLOAD_SCALE, 1.0)
    preview.thumbnail((side, side), Image.Resampling.LANCZOS)
    if boxes:
        preview = _with_boxes(preview.convert("RGB"), boxes, scale=preview.width / full_width)
        photo = False  # sharp lines: PNG
    buffer = io.BytesIO()
    preview.save(buffer, "JPEG" if photo else "PNG", **({"quality": 85} if photo else {}))
    return buffer.getvalue(), "image/jpeg" if photo else "image/png"


def _with_boxes(preview: Image.Image, boxes: list[list[int]], *, scale: float) -> Image.Image:
    draw = ImageDraw.Draw(preview)
    for number, (x, y, width, height) in enumerate(boxes, start=1):
        corners = [round(x * scale), round(y * scale), round((x + width) * scale), round((y + height) * scale)]
        draw.rectangle(corners, outline=BOX_COLOUR, width=max(1, preview.width // 200))
        draw.text((corners[0] + 2, corners[1] + 1), str(number), fill=BOX_COLOUR)
    return preview
