"""Turning any accepted picture of a digit into exactly what MNIST looks like.

MNIST digits are white ink on black, their bounding box scaled so the longer side is 20 px (aspect
kept, anti-aliased), pasted in a 28×28 field with the centre of mass at pixel (14, 14). Phone
photos, scans, screenshots and transparent canvas exports all go through the same steps, and the
steps are an identity (or nearly) on a picture that already looks like MNIST. Serving and
finetuning both call `prepare_digit`, so the model never sees two different conventions.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage

#: Formats Pillow may open; anything else (SVG, PDF, HTML, …) is refused before decoding.
ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
#: Larger pictures are shrunk to this side before any analysis: a digit needs no more detail
#: (rendered photos: the same accuracy at 250 and 320 px, up to 2 pp lower at 200 for small
#: fine-pen digits), and a 1000 px JPEG decodes straight to it.
WORKING_SIDE = 250
#: A photo's local background floor that rises this share of the ink's top level above the floor
#: of a three times wider neighbourhood is inside solid ink, not shading (`_background`).
SOLID_INK_RISE = 0.25
#: Pictures wider (or taller) than this ratio are read at more than WORKING_SIDE, up to
#: MAX_SIDE_FACTOR times it (`working_side`); single-digit pictures stay at WORKING_SIDE.
WIDE_ASPECT = 1.5
MAX_SIDE_FACTOR = 3.0
MNIST_BOX = 20
MNIST_SIDE = 28
MNIST_CENTRE = 14.0  # measured on MNIST train: mean centre of mass (13.996, 14.004)
#: Ink weaker than this (0‥255, after the background is removed) is not a digit: a blank page.
MIN_INK_CONTRAST = 40.0
#: Blobs smaller than this share of the largest blob are specks (dust, noise, paper texture).
SPECK_FRACTION = 0.08
#: A picture whose ink falls apart into more blobs than this is noise, not a digit.
MAX_DIGIT_PARTS = 6
#: Neighbouring pixels of a drawn stroke agree; in noise they do not. Below this lag-1
#: autocorrelation the picture is noise (MNIST ≥ 0.49, Semeion ≥ 0.40, random noise ≤ 0.05).
MIN_SMOOTHNESS = 0.25
#: The same within the box around the ink (one pixel wider), so noise framed by a clean border
#: is caught too (all 70,000 MNIST ≥ 0.32, USPS ≥ 0.52, Semeion ≥ 0.40; framed noise ≤ 0.25).
MIN_BOX_SMOOTHNESS = 0.28
#: Ink covering more than this share of the picture is a texture or noise, not a digit. A digit
#: written with a felt pen and stretched to fill a small scan covers up to 0.8 of it: the smallest
#: bound at which such validation scans stop being refused (docs/model.md, "Bold scans").
MAX_INK_COVERAGE = 0.8
#: A picture smaller than this on its shorter side is a scan or a crop, clean and without shading:
#: its polarity is read off its edge alone and its background is one level (`_ink`, `_background`).
SMALL_PICTURE_SIDE = 64
#: Thin strokes thresholded to black and white (a small binary scan) are as rough as noise by
#: smoothness; they are still drawn when their strokes are line-like (`_line_like`): few parts, no
#: lone pixel, at most MAX_DIGIT_HOLES enclosed holes (an "8" has two), covering at most
#: MAX_LINE_LIKE_COVERAGE of a box at least MIN_LINE_LIKE_SIDE px across (in a smaller or fuller
#: one, random pixels too fall into such shapes).
MAX_DIGIT_HOLES = 2
MAX_LINE_LIKE_COVERAGE = 0.4
MIN_LINE_LIKE_SIDE = 12
#: A small picture whose strokes reach all four of its edges was likely size-normalised: its digit
#: stretched to fill the square, as Semeion's 16×16 scans were made, which widens every digit and
#: turns a narrow "1" into a slab. It is also read narrowed to these shares of its width
#: (`narrowed_pictures`). Chosen on validation digits made such scans (docs/model.md, "Stretched scans").
NARROWED_WIDTHS = (0.7, 0.35)
#: How far from an edge (px) strokes may stop and still count as reaching it: thresholding a
#: stretched scan clears its faint outer rows.
FRAME_MARGIN = 1
#: Blur that gives a thresholded (binary) scan MNIST's soft, anti-aliased stroke edges. Calibrated
#: on MNIST itself: it brings thresholded MNIST digits closest (least squares) to the originals.
SOFTEN_SIGMA = 0.5
#: Stroke width a 20 px MNIST digit has, in pixels; thinner pen strokes are thickened to it.
MNIST_STROKE_WIDTH = 2.0


#: The key in an opened picture's `info` for its scale to the uploaded file (see `open_image`).
UPLOAD_SCALE = "upload_scale"
#: Pictures with more than 8 bits of grey, read as floats.
_DEEP_MODES = ("I;16", "I;16B", "I;16L", "I", "F")


class ImageRejected(ValueError):
    """The upload cannot be read as a picture; the message is for the person who sent it."""


class NoDigitFound(ImageRejected):
    """The picture was read but holds nothing that looks like a single digit."""


@dataclass(frozen=True)
class ImageLimits:
    max_pixels: int = 40_000_000


def working_side(size: tuple[int, int]) -> int:
    """How many pixels the longer side of a picture of `size` is read at: WORKING_SIDE, more for a
    wide strip (a written number), so each of its digits keeps about the detail a lone one has."""
    width, height = size
    aspect = max(width, height) / max(min(width, height), 1)
    return round(WORKING_SIDE * min(max(aspect / WIDE_ASPECT, 1.0), MAX_SIDE_FACTOR))


def open_image(
    data: bytes, *, limits: ImageLimits = ImageLimits(), side: int | None = WORKING_SIDE, jpeg_mode: str = "L"
) -> tuple[Image.Image, str]:
    """Decode `data` safely: known formats only, pixel count checked before decoding, first frame.
    A JPEG is decoded at the smallest of its 1/2‥1/8 scales that keeps the longer side ≥ `side`
    (None: `working_side` of its size), in `jpeg_mode` ("L" for reading: grey straight from the
    decoder).

    Returns the upright picture and the format Pillow recognised (never the client's file name).
    The picture's `info[UPLOAD_SCALE]` says how many of the uploaded file's pixels one of its own
    spans (1, or more for a JPEG decoded at a reduced scale)."""
    if not data:
        raise ImageRejected("The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # corrupt metadata: the pixels may still be fine
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageRejected("The picture has no pixels.")
            if width * height > limits.max_pixels:
                raise ImageRejected(
                    f"The picture is too large ({width}×{height} pixels); "
                    f"the limit is {limits.max_pixels:,} pixels."
                )
            image_format = image.format or "PNG"
            image.seek(0)  # animated GIF/WebP/PNG: the first frame
            if image.format == "JPEG":
                shrink = max(width, height) / (side or working_side((width, height)))
                image.draft(jpeg_mode, (math.ceil(width / shrink), math.ceil(height / shrink)))
            image.load()
            upload_scale = width / image.width  # > 1 when the JPEG was decoded at a reduced scale
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageRejected(f"The picture is too large to process: {error}") from error
    except Image.UnidentifiedImageError as error:
        raise ImageRejected(
            "That file is not a picture we can read; send a PNG, JPEG, GIF, BMP, WebP or TIFF."
        ) from error
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, MemoryError) as error:
        raise ImageRejected("The picture is damaged or truncated and cannot be read.") from error
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 - broken EXIF must not cost the user the picture
        pass
    image.info[UPLOAD_SCALE] = upload_scale
    return image, image_format


def _without_opaque_alpha(image: Image.Image) -> Image.Image:
    """Canvas exports (the draw pad's among them) carry an alpha channel with nothing transparent.
    Dropping it changes no pixel, but spares Pillow's premultiplied-alpha round trip and lets the
    picture be made grey before it is shrunk."""
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema() == (255, 255):
        return image.convert(image.mode[:-1])
    return image


def _gray(image: Image.Image, *, side: int = WORKING_SIDE) -> np.ndarray:
    """The picture's grey levels at WORKING_SIDE at most. An ordinary picture is made grey before
    it is shrunk, so one channel is resampled instead of three (the draw pad's 280×280 export is
    prepared in 2.0 instead of 2.5 ms); transparent and 16-bit ones are handled by `_to_gray`."""
    image = _without_opaque_alpha(image)
    if image.mode in _DEEP_MODES or "A" in image.getbands() or "transparency" in image.info:
        return _to_gray(_shrink(image, side=side))
    return np.asarray(_shrink(image if image.mode == "L" else image.convert("L"), side=side))


def grey_picture(image: Image.Image) -> Image.Image:
    """The picture as preprocessing reads it before looking for the digit: 8-bit grey, at most
    WORKING_SIDE px, 16-bit pictures stretched to 8 bits and transparent areas filled with the colour
    opposite the strokes (white strokes on a transparent canvas stay visible)."""
    gray = _gray(image)
    return Image.fromarray(gray if gray.dtype == np.uint8 else np.round(gray).astype(np.uint8))


def _shrink(image: Image.Image, *, side: int = WORKING_SIDE) -> Image.Image:
    longest = max(image.size)
    if longest <= side:
        return image
    scale = side / longest
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if image.mode in _DEEP_MODES:
        image = image.convert("F")  # keeps all 16 bits; through RGB every level above 255 is clipped
    elif image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    return image.resize(size, Image.Resampling.BOX)


def _to_gray(image: Image.Image) -> np.ndarray:
    """Float grey 0‥255 of a 16-bit, float or transparent picture (`_gray` reads ordinary ones);
    transparent areas are filled with the colour opposite the strokes."""
    if image.mode in _DEEP_MODES:
        array = np.asarray(image, dtype=np.float64)
        finite = np.isfinite(array)
        if not finite.all():  # a float picture's missing readings (NaN, ±inf): its typical level
            array = np.where(finite, array, float(np.median(array[finite])) if finite.any() else 0.0)
        low, high = float(array.min()), float(array.max())
        return (array - low) * (255.0 / (high - low)) if high > low else np.zeros_like(array)
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float64) / 255.0
    gray = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float64)
    if alpha.min() > 0.98:
        return gray
    opaque = alpha > 0.5
    strokes_are_dark = opaque.any() and float(np.average(gray, weights=alpha + 1e-9)) < 128.0
    backdrop = 255.0 if strokes_are_dark else 0.0
    return gray * alpha + backdrop * (1.0 - alpha)


def _ink(gray: np.ndarray) -> np.ndarray:
    """Ink as the high value on a zero background, whatever the polarity and lighting."""
    counted = np.cumsum(_byte_histogram(gray)) if gray.dtype == np.uint8 else None  # counted[v]: how many ≤ v
    # 0.01 and 99.99 %: a small, thin-penned digit is ≈ 0.1 % of a photo
    low, high = _percentiles(gray, (0.01, 99.99), counted=counted)
    if high - low < MIN_INK_CONTRAST:
        low, high = float(gray.min()), float(gray.max())
    middle = (low + high) / 2.0
    ring = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if counted is not None:
        lighter = (gray.size - int(counted[math.floor(middle)])) / gray.size  # (gray > middle).mean()
    else:
        lighter = (gray > middle).mean()
    ring_lighter = (ring > middle).mean()
    if min(gray.shape) < SMALL_PICTURE_SIDE and ring_lighter != 0.5:
        # A small scan's digit may fill its frame, bold strokes covering more of it than the
        # background does; its edge is still mostly background, touched only where strokes end.
        light_background = ring_lighter > 0.5
    else:
        light_background = (ring_lighter + lighter) / 2.0 > 0.5
    ink = 255.0 - gray if light_background else gray.astype(np.float64)
    ink -= _background(ink)
    return np.maximum(ink, 0.0, out=ink)


def _percentiles(values: np.ndarray, percents: tuple[float, ...], *, counted: np.ndarray | None = None) -> list[float]:
    """`np.percentile` (linear interpolation) bit for bit, without its overhead: bytes (a photo's
    grey levels) are read off their cumulative histogram `counted` (computed when not given)
    instead of sorted; other values partitioned once."""
    last = values.size - 1
    positions = [last * (percent / 100) for percent in percents]
    ranks = sorted({min(math.floor(position) + step, last) for position in positions for step in (0, 1)})
    if values.dtype == np.uint8:
        if counted is None:
            counted = np.cumsum(_byte_histogram(values))  # counted[v]: how many are ≤ v
        ranked = dict(zip(ranks, np.searchsorted(counted, ranks, side="right").tolist()))
    else:
        partitioned = np.partition(values.ravel(), ranks)
        ranked = {rank: float(partitioned[rank]) for rank in ranks}
    result = []
    for position in positions:
        below = math.floor(position)
        low, high, fraction = ranked[below], ranked[min(below + 1, last)], position - below
        # numpy's own interpolation formula, so the figures are exactly np.percentile's
        result.append(float(high - (high - low) * (1 - fraction) if fraction >= 0.5 else low + (high - low) * fraction))
    return result


def _byte_histogram(values: np.ndarray) -> np.ndarray:
    """Counts of 0‥255 in a uint8 array. Pillow counts a photo's bytes 3× faster than `np.bincount`,
    which widens each to a 64-bit index first; on a 28×28 picture numpy's lower overhead wins."""
    if values.size < 4096:
        return np.bincount(values.ravel(), minlength=256)
    return np.array(Image.fromarray(np.ascontiguousarray(values).reshape(-1, values.shape[-1])).histogram())


def _background(ink: np.ndarray) -> np.ndarray | float:
    """The ink image's background level: a smooth local floor for photos, the median otherwise.

    Photos have shading and paper tint; their floor is a minimum filter wider than a pen's stroke,
    computed on a coarse grid so it stays cheap. Where that floor stands far above a three times wider
    one's, it lies inside a mark of solid ink (a "1" a scanner stretched into a block, a felt-tip
    blot) rather than on shaded paper, and the wider floor is taken, so the mark is not hollowed out.
    Small clean pictures (MNIST, scans) use one level.
    """
    if min(ink.shape) < SMALL_PICTURE_SIDE:
        level = float(np.median(ink))
        return level if level < 128 else 0.0
    factor = max(1, min(ink.shape) // 40)
    rows, cols = ink.shape[0] // factor, ink.shape[1] // factor
    # Block means; summing each block's rows first keeps every step on contiguous memory.
    coarse = ink[: rows * factor].reshape(rows, factor, ink.shape[1]).sum(1)
    coarse = coarse[:, : cols * factor].reshape(rows, cols, factor).sum(2) / (factor * factor)
    floor = ndimage.minimum_filter(coarse, size=7, mode="nearest")
    wider = ndimage.minimum_filter(coarse, size=21, mode="nearest")
    floor = np.where(floor - wider > SOLID_INK_RISE * float(coarse.max()), wider, floor)
    floor = ndimage.uniform_filter(floor, size=7, mode="nearest")
    floor = Image.fromarray(floor.astype(np.float32), mode="F").resize(ink.shape[::-1], Image.Resampling.BILINEAR)
    return np.asarray(floor)  # float32: subtracting it from float64 ink widens it on the fly


_BIN_MIDDLES = np.arange(256) + 0.5


def _otsu_threshold(values: np.ndarray) -> float:
    top = float(values.max()) + 1e-6
    histogram = _byte_histogram((values * (256.0 / top)).astype(np.uint8))  # values ≥ 0, < top
    centres = _BIN_MIDDLES * (top / 256.0)
    weight_low = np.cumsum(histogram)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(histogram * centres)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(centres[int(np.argmax(between))])


def check_looks_drawn(ink: np.ndarray) -> None:
    """Raise NoDigitFound for a blank picture or noise: nothing there was drawn."""
    if ink.max() < MIN_INK_CONTRAST:
        raise NoDigitFound("No digit found: the picture looks blank.")
    rough = _smoothness(ink) < MIN_SMOOTHNESS or _smoothness(_inked_box(ink)) < MIN_BOX_SMOOTHNESS
    if rough and not _line_like(stroke_pixels(ink)):
        raise NoDigitFound("No digit found: the picture looks like noise, not a drawn digit.")


def _line_like(strokes: np.ndarray) -> bool:
    """Whether the stroke pixels are shaped like pen lines rather than noise: within their box (at
    least MIN_LINE_LIKE_SIDE across, at most MAX_LINE_LIKE_COVERAGE of it inked) they fall into at most
    MAX_DIGIT_PARTS 8-connected parts, none a lone pixel, around at most MAX_DIGIT_HOLES holes."""
    rows, cols = np.flatnonzero(strokes.any(1)), np.flatnonzero(strokes.any(0))
    if not len(rows) or max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < MIN_LINE_LIKE_SIDE:
        return False
    box = np.pad(strokes[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1)
    if box.sum() > MAX_LINE_LIKE_COVERAGE * (box.shape[0] - 2) * (box.shape[1] - 2):
        return False
    labels, parts = ndimage.label(box, structure=np.ones((3, 3)))
    if parts > MAX_DIGIT_PARTS or np.bincount(labels.ravel())[1:].min() == 1:
        return False
    _, background_parts = ndimage.label(~box)  # 4-connected: the outside, and each enclosed hole
    return background_parts - 1 <= MAX_DIGIT_HOLES


def stroke_pixels(ink: np.ndarray) -> np.ndarray:
    """The pixels that are strokes rather than background or anti-aliased rims."""
    return ink > max(_otsu_threshold(ink), MIN_INK_CONTRAST / 2)


def _digit_mask(ink: np.ndarray) -> np.ndarray:
    """The pixels belonging to the digit: the main blob and any sizeable parts, specks dropped."""
    check_looks_drawn(ink)
    strokes = stroke_pixels(ink)
    # Only the box around the strokes needs labelling: in a photo it is a fraction of the picture.
    rows, cols = np.flatnonzero(strokes.any(1)), np.flatnonzero(strokes.any(0))
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    labels, _ = ndimage.label(strokes[box], structure=np.ones((3, 3)))
    areas = np.bincount(labels.ravel())[1:]
    kept = np.concatenate(([False], areas >= SPECK_FRACTION * areas.max()))
    if kept.sum() > MAX_DIGIT_PARTS or areas.sum() / strokes.size > MAX_INK_COVERAGE:
        raise NoDigitFound("No digit found: the picture looks like noise or texture, not one digit.")
    mask = np.zeros_like(strokes)
    mask[box] = kept[labels]
    return mask


def _smoothness(ink: np.ndarray) -> float:
    """Lag-1 autocorrelation of the ink, averaged over rows and columns."""
    centred = ink - ink.sum() / ink.size  # np.mean's own arithmetic, without its call overhead
    flat = centred.ravel()  # dot products of shifted views: no temporary arrays
    energy = float(flat @ flat)
    if energy == 0.0:
        return 0.0
    width = ink.shape[1]
    across = float(flat[1:] @ flat[:-1]) - float(centred[:-1, -1] @ centred[1:, 0])  # minus row wrap-arounds
    down = float(flat[width:] @ flat[:-width])
    return (across + down) / (2.0 * energy)


def _inked_box(ink: np.ndarray) -> np.ndarray:
    """The picture inside the box around its clearly inked pixels, one pixel wider (a box of a
    single straight stroke would hold no contrast to measure)."""
    inked = ink > 0.25 * ink.max()
    rows, cols = np.flatnonzero(inked.any(1)), np.flatnonzero(inked.any(0))
    return ink[max(rows[0] - 1, 0) : rows[-1] + 2, max(cols[0] - 1, 0) : cols[-1] + 2]


def _dilate_by_cross(mask: np.ndarray) -> np.ndarray:
    """`ndimage.binary_dilation(mask)` (its default 4-neighbour cross), as four shifted ORs: the
    same pixels, 5× faster on a digit's box."""
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    grown[:, 1:] |= mask[:, :-1]
    grown[:, :-1] |= mask[:, 1:]
    return grown


def _erode_by_cross(mask: np.ndarray) -> np.ndarray:
    """`ndimage.binary_erosion(mask)` (the same cross, nothing outside the picture), as shifted ANDs."""
    kept = mask.copy()
    kept[1:] &= mask[:-1]
    kept[:-1] &= mask[1:]
    kept[:, 1:] &= mask[:, :-1]
    kept[:, :-1] &= mask[:, 1:]
    kept[0] = kept[-1] = False
    kept[:, 0] = kept[:, -1] = False
    return kept


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width from area and outline length (outline ≈ twice the stroke's length)."""
    outline = mask & ~_erode_by_cross(mask)
    return 2.0 * mask.sum() / max(outline.sum(), 1)


def _already_mnist_format(image: Image.Image) -> np.ndarray | None:
    """The pixels of a picture that already is what MNIST looks like, else None.

    That is: 28×28 grey, strokes up to full white on an exactly black border, anti-aliased, the
    digit's box 20 px on its longer side and its centre of mass on the middle pixel. MNIST itself
    and clients that prepare their own input send this; the network was trained on exactly such
    pixels, so they are used as they are instead of being re-cut and re-centred."""
    if image.mode != "L" or image.size != (MNIST_SIDE, MNIST_SIDE) or "transparency" in image.info:
        return None
    pixels = np.asarray(image)
    if pixels[0].any() or pixels[-1].any() or pixels[:, 0].any() or pixels[:, -1].any() or pixels.max() < 250:
        return None
    rows, cols = np.flatnonzero(pixels.any(1)), np.flatnonzero(pixels.any(0))
    if max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 != MNIST_BOX:
        return None
    total = float(pixels.sum(dtype=np.int64))
    centre_y = float(pixels.sum(1, dtype=np.int64) @ np.arange(MNIST_SIDE)) / total
    centre_x = float(pixels.sum(0, dtype=np.int64) @ np.arange(MNIST_SIDE)) / total
    if abs(centre_y - MNIST_CENTRE) >= 0.5 or abs(centre_x - MNIST_CENTRE) >= 0.5 or _is_binary(pixels):
        return None
    return pixels


def prepare_digit(image: Image.Image) -> np.ndarray:
    """The 28×28 uint8 MNIST-style picture of the digit in `image` (raises NoDigitFound)."""
    ready = _already_mnist_format(image)
    if ready is not None:
        _digit_mask(ready.astype(np.float64))  # the same blank, noise and texture checks as any picture
        return ready.copy()
    ink = picture_ink(image)
    return digit_from_ink(ink=ink, mask=_digit_mask(ink))


def narrowed_pictures(image: Image.Image) -> list[Image.Image]:
    """The picture, grey, narrowed to each of NARROWED_WIDTHS of its width when its strokes reach
    all four of its edges, give or take FRAME_MARGIN (a digit stretched to fill its frame); none for
    any other picture."""
    if _already_mnist_format(image) is not None:
        return []
    ink = picture_ink(image)
    if ink.max() < MIN_INK_CONTRAST:
        return []
    strokes = stroke_pixels(ink)
    near = FRAME_MARGIN + 1
    if not (strokes[:near].any() and strokes[-near:].any() and strokes[:, :near].any() and strokes[:, -near:].any()):
        return []
    grey = grey_picture(image)
    return [grey.resize((max(1, round(grey.width * share)), grey.height), Image.Resampling.BILINEAR)
            for share in NARROWED_WIDTHS]


def picture_ink(image: Image.Image, *, side: int = WORKING_SIDE) -> np.ndarray:
    """The picture's ink at most `side` px on its longer side: high on a zero background, whatever
    the polarity, lighting and transparency."""
    return _ink(_gray(image, side=side))


def digit_from_ink(*, ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The 28×28 uint8 MNIST-style picture of the digit whose strokes are `mask` in `ink`: cut
    out with its anti-aliased rims, stroke width and contrast matched to MNIST, scaled, centred."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    # From here on only the digit's box and two pixels around it matter (as far as rims reach).
    y0, x0 = max(rows[0] - 2, 0), max(cols[0] - 2, 0)
    ink, mask = ink[y0 : rows[-1] + 3, x0 : cols[-1] + 3], mask[y0 : rows[-1] + 3, x0 : cols[-1] + 3]
    # Keep the strokes and their anti-aliased rims; drop specks and background texture.
    ink = np.where(_dilate_by_cross(_dilate_by_cross(mask)), ink, 0.0)
    top, bottom, left, right = rows[0] - y0, rows[-1] + 1 - y0, cols[0] - x0, cols[-1] + 1 - x0
    # Widen the box to the rims so no anti-aliased edge is cut.
    rim_rows, rim_cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    top, bottom = max(min(top, rim_rows[0]), top - 2), min(max(bottom, rim_rows[-1] + 1), bottom + 2)
    left, right = max(min(left, rim_cols[0]), left - 2), min(max(right, rim_cols[-1] + 1), right + 2)
    crop, crop_mask = ink[top:bottom, left:right], mask[top:bottom, left:right]
    height, width = crop.shape
    scale = MNIST_BOX / max(height, width)

    if scale < 0.5:  # a big picture: thin pen strokes would vanish when shrunk; thicken them first
        wanted = MNIST_STROKE_WIDTH / scale
        width_now = _stroke_width(crop_mask)
        if width_now < 0.6 * wanted:
            grow = int(round((wanted - width_now) / 2))
            crop = ndimage.grey_dilation(np.pad(crop, grow), footprint=_disc(grow))
            crop_mask = np.pad(crop_mask, grow)
            height, width = crop.shape
            scale = MNIST_BOX / max(height, width)

    ink_level = _percentiles(crop[crop_mask], (95,))[0]
    if ink_level < 250.0:  # faint ink (pencil, photo): stretch so strokes are saturated as in MNIST
        crop = np.clip(crop * (255.0 / max(ink_level, 1e-6)), 0.0, 255.0)
    hard_edged = _is_binary(crop)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size != (width, height):
        crop = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS))
        crop = np.clip(crop, 0.0, 255.0)
        if crop.max() < 250.0:  # a stroke thinner than a pixel after shrinking: its core is still full ink
            crop = crop * (255.0 / max(float(crop.max()), 1e-6))
    if hard_edged and scale > 0.5:
        # MNIST's strokes are anti-aliased (its digits were shrunk from fine scans); a thresholded
        # scan shown at about its own size keeps jagged edges the network never saw. Soften them.
        crop = ndimage.gaussian_filter(crop, SOFTEN_SIGMA, mode="constant")
        crop = np.clip(crop * (255.0 / max(float(crop.max()), 1e-6)), 0.0, 255.0)  # cores stay saturated
    return _centre(crop)


def _is_binary(crop: np.ndarray) -> bool:
    """True for thresholded pictures: almost no grey levels between ink and background."""
    ink = crop > 25.0
    grey = ink & (crop < 230.0)
    return bool(ink.any()) and grey.sum() < 0.05 * ink.sum()


def _disc(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius + radius


def _centre(digit: np.ndarray) -> np.ndarray:
    """Paste into 28×28 with the centre of mass at (14, 14), whole-pixel shift, kept inside."""
    height, width = digit.shape
    field = np.zeros((MNIST_SIDE, MNIST_SIDE))
    total = digit.sum()
    if total <= 0:
        raise NoDigitFound("No digit found: the picture looks blank.")
    com_y = (digit.sum(1) * np.arange(height)).sum() / total
    com_x = (digit.sum(0) * np.arange(width)).sum() / total
    top = min(max(round(MNIST_CENTRE - com_y), 0), MNIST_SIDE - height)
    left = min(max(round(MNIST_CENTRE - com_x), 0), MNIST_SIDE - width)
    field[top : top + height, left : left + width] = digit
    return np.round(field).astype(np.uint8)


def preprocess(data: bytes, *, limits: ImageLimits = ImageLimits()) -> np.ndarray:
    """Bytes of an uploaded file → the 28×28 uint8 picture the model reads."""
    image, _ = open_image(data, limits=limits)
    return prepare_digit(image)
