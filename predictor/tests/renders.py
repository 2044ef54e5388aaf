"""Realistic test pictures rendered from real MNIST digits: photos, scans, canvases, screenshots.

Each render starts from a 28×28 MNIST digit (white on black) and produces the bytes a real client
would send, with the defects of that kind of source.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy import ndimage

SAMPLES = Path(__file__).parent / "data" / "mnist_samples.npz"


def mnist_samples() -> tuple[np.ndarray, np.ndarray]:
    """Twenty MNIST test digits (two of each class) shipped with the tests."""
    with np.load(SAMPLES) as data:
        return data["x"], data["y"]


def one_of_each() -> dict[int, np.ndarray]:
    """The first of the shipped samples of each digit, by digit."""
    digits, labels = mnist_samples()
    return {int(label): digits[index] for index, label in reversed(list(enumerate(labels)))}


def encode(image: Image.Image, image_format: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def _ink_on_canvas(digit: np.ndarray, *, canvas: tuple[int, int], digit_height: int, at: tuple[float, float]) -> np.ndarray:
    """The digit's ink (0‥1) enlarged smoothly and placed on a larger canvas (height, width)."""
    big = Image.fromarray(digit).resize((digit_height, digit_height), Image.Resampling.BICUBIC)
    big = big.filter(ImageFilter.GaussianBlur(digit_height / 120))
    ink = np.zeros(canvas)
    top, left = int(at[0] * canvas[0] - digit_height / 2), int(at[1] * canvas[1] - digit_height / 2)
    ink[top : top + digit_height, left : left + digit_height] = np.asarray(big, dtype=float) / 255.0
    return np.clip(ink, 0.0, 1.0)


def _pen_ink_on_canvas(digit: np.ndarray, *, canvas: tuple[int, int], digit_height: int, pen_width: float) -> np.ndarray:
    """Like `_ink_on_canvas`, but written with a fine pen about `pen_width` pixels wide (a ballpoint
    on paper, not MNIST's proportionally thick strokes): the ridges along the middle of the enlarged
    digit's strokes, redrawn with a round pen."""
    from scipy import ndimage

    big = np.asarray(Image.fromarray(digit).resize((digit_height, digit_height), Image.Resampling.BICUBIC), dtype=float)
    height = ndimage.gaussian_filter(big, digit_height / 40)  # a ridge along each stroke's middle
    ridges = np.zeros(big.shape, dtype=bool)
    for axis in (0, 1):
        before, after = np.roll(height, 1, axis), np.roll(height, -1, axis)
        ridges |= (height >= before) & (height >= after)
    ridges &= height > 0.5 * height.max()
    radius = max(pen_width / 2.0, 0.5)
    y, x = np.ogrid[-int(radius) - 1 : int(radius) + 2, -int(radius) - 1 : int(radius) + 2]
    pen = ndimage.binary_dilation(ridges, structure=x * x + y * y <= radius * radius)
    ink = np.zeros(canvas)
    top, left = int(0.45 * canvas[0] - digit_height / 2), int(0.55 * canvas[1] - digit_height / 2)
    ink[top : top + digit_height, left : left + digit_height] = ndimage.gaussian_filter(pen * 1.0, 0.7)
    return np.clip(ink, 0.0, 1.0)


def phone_photo(
    digit: np.ndarray,
    *,
    seed: int = 0,
    exif_orientation: int | None = None,
    size: tuple[int, int] = (600, 450),
    digit_height: int = 260,
    pen_width: float | None = None,
) -> bytes:
    """Blue-black ink on cream paper, uneven light (a shadow across the sheet), sensor noise, JPEG.

    `size` is (height, width); with `pen_width` the digit is written with a fine pen of about that
    many pixels. With `exif_orientation`, the pixels are stored rotated and the EXIF tag says how to
    undo it, as phones do."""
    rng = np.random.default_rng(seed)
    height, width = size
    if pen_width is None:
        ink = _ink_on_canvas(digit, canvas=(height, width), digit_height=digit_height, at=(0.45, 0.55))
    else:
        ink = _pen_ink_on_canvas(digit, canvas=(height, width), digit_height=digit_height, pen_width=pen_width)
    paper = np.array([232.0, 222.0, 196.0])
    ink_colour = np.array([40.0, 45.0, 90.0])
    light = np.linspace(0.65, 1.05, width)[None, :, None] * np.linspace(0.9, 1.0, height)[:, None, None]
    rgb = (paper * (1 - ink[..., None]) + ink_colour * ink[..., None]) * light
    rgb += rng.normal(0, 5, rgb.shape)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    params = {"quality": 85}
    if exif_orientation is not None:
        undo = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_180}
        image = image.transpose(undo[exif_orientation])
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        params["exif"] = exif.tobytes()
    return encode(image, "JPEG", **params)


def large_phone_photo(digit: np.ndarray) -> bytes:
    """The benchmarks' photo upload: a phone photo scaled to 1000×1000, saved as a quality-90 JPEG."""
    photo = Image.open(io.BytesIO(phone_photo(digit))).resize((1000, 1000))
    return encode(photo, "JPEG", quality=90)


def scan(digit: np.ndarray, *, seed: int = 0) -> bytes:
    """A grey-scale flatbed scan: pencil-grey ink on off-white paper, light noise, PNG."""
    rng = np.random.default_rng(seed)
    ink = _ink_on_canvas(digit, canvas=(300, 300), digit_height=150, at=(0.5, 0.5))
    gray = 242 - ink * 150 + rng.normal(0, 3, ink.shape)
    return encode(Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8), "L"))


def transparent_canvas(digit: np.ndarray, *, stroke: tuple[int, int, int] = (0, 0, 0)) -> bytes:
    """What a browser canvas exports: strokes in one colour, the rest fully transparent."""
    ink = _ink_on_canvas(digit, canvas=(280, 280), digit_height=200, at=(0.5, 0.5))
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[..., :3] = stroke
    rgba[..., 3] = np.round(ink * 255).astype(np.uint8)
    return encode(Image.fromarray(rgba, "RGBA"))


def draw_pad(digit: np.ndarray) -> bytes:
    """What the app's own draw pad sends: white strokes on black, 280×280, an RGBA PNG (a canvas
    export keeps its alpha channel, all of it opaque)."""
    ink = _ink_on_canvas(digit, canvas=(280, 280), digit_height=200, at=(0.5, 0.5))
    gray = np.round(ink * 255).astype(np.uint8)
    return encode(Image.fromarray(np.dstack([gray, gray, gray, np.full_like(gray, 255)]), "RGBA"))


def screenshot(digit: np.ndarray) -> bytes:
    """White ink on black, RGB, the digit drawn large in a corner of a wider window."""
    ink = _ink_on_canvas(digit, canvas=(240, 400), digit_height=160, at=(0.45, 0.3))
    gray = np.round(ink * 255).astype(np.uint8)
    return encode(Image.fromarray(np.stack([gray] * 3, axis=-1), "RGB"))


def with_specks(digit: np.ndarray, *, seed: int = 0) -> bytes:
    """A scan with dust: a few small dark dots scattered away from the digit."""
    rng = np.random.default_rng(seed)
    ink = _ink_on_canvas(digit, canvas=(300, 300), digit_height=150, at=(0.5, 0.5))
    for _ in range(6):
        y, x = rng.integers(5, 60), rng.integers(5, 295)
        ink[y : y + 3, x : x + 3] = 1.0
    gray = 245 - ink * 200
    return encode(Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8), "L"))


def blank_page(*, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    light = np.linspace(0.8, 1.0, 400)[None, :]
    gray = 235 * light + rng.normal(0, 4, (300, 400))
    return encode(Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8), "L"), "JPEG", quality=90)


def noise(*, size: int = 200, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return encode(Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8), "L"))


def binary_noise(*, size: int, density: float, seed: int = 0) -> bytes:
    """Random black and white pixels, `density` of them white: what thresholded noise looks like."""
    rng = np.random.default_rng(seed)
    return encode(Image.fromarray(np.where(rng.random((size, size)) < density, 255, 0).astype(np.uint8), "L"))


#: Digits drawn with a one-pixel pen in a 16×16 picture (polylines, x and y): a tiny canvas
#: export or a thresholded low-resolution scan, as rough pixel by pixel as noise is.
THIN_PEN_DIGITS = {
    1: [[(5, 4), (8, 1), (8, 14)]],
    2: [[(3, 4), (5, 2), (10, 2), (12, 4), (12, 6), (3, 14), (13, 14)]],
    5: [[(12, 1), (4, 1), (3, 7), (9, 6), (12, 9), (11, 13), (7, 14), (3, 13)]],
    7: [[(3, 2), (12, 2), (6, 14)]],
}


def thin_pen(digit: int) -> bytes:
    """`THIN_PEN_DIGITS[digit]`, white on black, as a PNG."""
    image = Image.new("L", (16, 16), 0)
    for line in THIN_PEN_DIGITS[digit]:
        ImageDraw.Draw(image).line(line, fill=255, width=1)
    return encode(image)


def stretched_scan(digit: np.ndarray, *, threshold: int = 110, bold: bool = False) -> bytes:
    """A 28×28 digit's ink box stretched to fill a 16×16 square and thresholded to black and white,
    as Semeion's scans were made: a narrow "1" becomes a slab, every digit wider than it was.
    `bold`: written a pixel bolder first (a felt pen), so the digit covers much of the square."""
    if bold:
        digit = ndimage.grey_dilation(digit, size=(3, 3))
    rows, cols = np.flatnonzero(digit.max(1) > 20), np.flatnonzero(digit.max(0) > 20)
    box = Image.fromarray(digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    stretched = np.asarray(box.resize((16, 16), Image.Resampling.BILINEAR))
    return encode(Image.fromarray(np.where(stretched > threshold, 255, 0).astype(np.uint8)))


def number_with_sign(digits: str, *, after: int, sign: str = ".", seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ink (0‥1) of the sample `digits` written apart, without and with a sign in a gap made after
    digit `after`: a pen's point ("."), a colon's two (":") or three points ("..."), as thick as the
    strokes, on the line."""
    from training.number_pictures import compose

    sample = one_of_each()
    ink, boxes = compose([sample[int(d)] for d in digits], rng=np.random.default_rng(seed), spacing="apart")
    height = int(np.median([box[3] for box in boxes]))
    baseline = int(np.median([box[1] + box[3] for box in boxes]))
    radius = max(3, round(0.07 * height))
    points = 3 if sign == "..." else 1
    gap = np.zeros((ink.shape[0], 4 * radius * points + 2 * radius))
    rows, cols = np.indices(gap.shape)
    for centre in [baseline - radius - 1] + ([baseline - round(0.6 * height)] if sign == ":" else []):
        for point in range(points):
            gap[(rows - centre) ** 2 + (cols - (3 + 4 * point) * radius) ** 2 <= radius**2] = 1.0
    at = boxes[after][0] + boxes[after][2] + 2
    plain = np.concatenate([ink[:, :at], np.zeros_like(gap), ink[:, at:]], axis=1)
    return plain, np.concatenate([ink[:, :at], gap, ink[:, at:]], axis=1)
