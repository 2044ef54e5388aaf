"""Pictures of handwritten numbers made from single digits, the way people upload them.

Digits from one source (MNIST, USPS, Semeion: white ink on black, 28×28) are set side by side as
one writer would write them: a shared size and slant, each digit jittered a little in size, angle
and baseline, spaced from well apart to touching. The ink is then rendered as a phone photo with
uneven light, lined or squared paper, a transparent canvas export, a grey scan or white on black.
Used to measure reading numbers (`bench/read_numbers.py`) and in tests; numpy and Pillow only.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

#: How far apart neighbouring digits are, as a share of the digit height (negative: they overlap).
SPACINGS = {"apart": (0.15, 0.45), "close": (0.02, 0.15), "touching": (-0.1, 0.0)}
RENDERINGS = ("photo", "lined", "squared", "canvas", "scan", "white_on_black")


@dataclass(frozen=True)
class NumberPicture:
    data: bytes  # the encoded file, as uploaded
    label: str  # the digits, left to right
    boxes: list[tuple[int, int, int, int]]  # each digit's x, y, width, height in the file's pixels
    rendering: str
    spacing: str
    indices: list[int]  # which of the source's digits were written, left to right


def _digit_ink(digit: np.ndarray, *, height: int, slant: float, angle: float) -> np.ndarray:
    """One digit's ink (0‥1), cut to its box, `height` px tall, sheared by `slant` and turned."""
    rows, cols = np.flatnonzero(digit.max(1) > 20), np.flatnonzero(digit.max(0) > 20)
    cut = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    width = max(2, round(cut.shape[1] * height / cut.shape[0]))
    big = Image.fromarray(cut).resize((width, height), Image.Resampling.BICUBIC)
    pad = round(abs(slant) * height) + 4
    big = Image.fromarray(np.pad(np.asarray(big), pad))
    # Shear about the middle row: x_in = x_out + slant·(y − middle).
    middle = big.height / 2
    big = big.transform(big.size, Image.Transform.AFFINE, (1, slant, -slant * middle, 0, 1, 0), Image.Resampling.BILINEAR)
    big = big.rotate(angle, Image.Resampling.BILINEAR)
    ink = np.asarray(big, dtype=float) / 255.0
    rows, cols = np.flatnonzero(ink.max(1) > 0.08), np.flatnonzero(ink.max(0) > 0.08)
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def compose(
    digits: list[np.ndarray], *, rng: np.random.Generator, spacing: str = "apart", height: int = 80
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The digits written side by side as ink (0‥1) on an empty field, and each digit's box."""
    ink, boxes, _ = compose_with_owners(digits, rng=rng, spacing=spacing, height=height)
    return ink, boxes


def compose_with_owners(
    digits: list[np.ndarray], *, rng: np.random.Generator, spacing: str = "apart", height: int = 80
) -> tuple[np.ndarray, list[tuple[int, int, int, int]], np.ndarray]:
    """As `compose`, and which digit each pixel's ink belongs to (its index; −1 where there is
    none): where touching digits overlap, the one with more ink there."""
    slant = rng.uniform(-0.25, 0.25)
    low, high = SPACINGS[spacing]
    inks = []
    for digit in digits:
        size = round(height * rng.uniform(0.88, 1.12))
        inks.append(_digit_ink(digit, height=size, slant=slant, angle=rng.uniform(-4, 4)))
    margin = height // 2
    gaps = [round(rng.uniform(low, high) * height) for _ in inks[1:]]
    width = sum(ink.shape[1] for ink in inks) + sum(gaps) + 2 * margin
    field = np.zeros((2 * height + 2 * margin, max(width, height + 2 * margin)))
    owner = np.full(field.shape, -1, dtype=np.int16)
    boxes = []
    x = margin
    for index, ink in enumerate(inks):
        if index:
            x += gaps[index - 1]
            if spacing == "touching":  # slid left until the strokes meet, boxes overlapping a little at most
                x = _touching_position(field, ink, x - gaps[index - 1], baseline=margin + height, reach=height // 5)
        top = margin + height - ink.shape[0] + round(rng.uniform(-0.06, 0.06) * height)
        region = field[top : top + ink.shape[0], x : x + ink.shape[1]]
        own = ink[: region.shape[0], : region.shape[1]]
        owner[top : top + ink.shape[0], x : x + ink.shape[1]][(own > 0.08) & (own >= region)] = index
        np.maximum(region, own, out=region)
        boxes.append((x, top, ink.shape[1], ink.shape[0]))
        x += ink.shape[1]
    rows, cols = np.flatnonzero(field.max(1) > 0.08), np.flatnonzero(field.max(0) > 0.08)
    top, left = max(rows[0] - margin, 0), max(cols[0] - margin, 0)
    crop = np.s_[top : rows[-1] + margin + 1, left : cols[-1] + margin + 1]
    return field[crop], [(bx - left, by - top, bw, bh) for bx, by, bw, bh in boxes], owner[crop]


def _touching_position(field: np.ndarray, ink: np.ndarray, x: int, *, baseline: int, reach: int) -> int:
    """Where `ink`, slid in from the right, first shares a stroke pixel with what is already
    written, its left edge at most `reach` px left of `x`; if it touches nothing by then, `x`."""
    top = baseline - ink.shape[0]
    strokes = ink > 0.5
    for left in range(x + ink.shape[1] // 3, max(x - reach, 0), -1):
        region = field[top : top + ink.shape[0], left : left + ink.shape[1]] > 0.5
        if (region & strokes[: region.shape[0], : region.shape[1]]).any():
            return left
    return x


def _encode(image: Image.Image, image_format: str = "PNG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def render(ink: np.ndarray, *, rendering: str, rng: np.random.Generator) -> tuple[bytes, float]:
    """`ink` as an uploaded file of kind `rendering`, and how much it was scaled on the way."""
    height, width = ink.shape
    if rendering == "photo":
        scale = rng.uniform(1.5, 3.0)
        size = (round(width * scale), round(height * scale))
        big = np.asarray(Image.fromarray((ink * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)) / 255.0
        paper, pen = np.array([232.0, 222.0, 196.0]), np.array([40.0, 45.0, 90.0])
        light = np.linspace(rng.uniform(0.6, 0.8), 1.05, size[0])[None, :, None]
        light = light * np.linspace(0.9, 1.0, size[1])[:, None, None]
        rgb = (paper * (1 - big[..., None]) + pen * big[..., None]) * light + rng.normal(0, 5, (*big.shape, 3))
        return _encode(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB"), "JPEG", quality=85), scale
    if rendering in ("lined", "squared"):
        paper = np.full((height, width, 3), 248.0)
        line = np.array([150.0, 180.0, 230.0])
        step = int(rng.integers(18, 30))
        offset = int(rng.integers(0, step))
        rows = np.arange(height) % step == offset
        paper[rows] = line
        if rendering == "squared":
            paper[:, np.arange(width) % step == offset] = line
        pen = np.array([20.0, 25.0, 60.0])
        rgb = paper * (1 - ink[..., None]) + pen * ink[..., None] + rng.normal(0, 3, (height, width, 3))
        return _encode(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB"), "JPEG", quality=90), 1.0
    if rendering == "canvas":
        rgba = np.zeros((height, width, 4), dtype=np.uint8)
        rgba[..., 3] = np.round(ink * 255).astype(np.uint8)
        return _encode(Image.fromarray(rgba, "RGBA")), 1.0
    if rendering == "scan":
        gray = 242 - ink * 150 + rng.normal(0, 3, ink.shape)
        return _encode(Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8), "L")), 1.0
    if rendering == "white_on_black":
        return _encode(Image.fromarray(np.round(ink * 255).astype(np.uint8), "L")), 1.0
    raise ValueError(f"unknown rendering: {rendering}")




def number_pictures(
    images: np.ndarray, labels: np.ndarray, *, count: int, seed: int, lengths: tuple[int, int] = (2, 6),
    spacings: tuple[str, ...] = tuple(SPACINGS), renderings: tuple[str, ...] = RENDERINGS,
):
    """`count` pictures of numbers of `lengths` digits (uniform, 4 on average for 2‥6), drawn from
    `images` without repeating a digit within a number; renderings and spacings taken in turn."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        chosen = [int(i) for i in rng.choice(len(images), size=length, replace=False)]
        rendering = renderings[index % len(renderings)]
        spacing = spacings[(index // len(renderings)) % len(spacings)]
        ink, boxes = compose([images[i] for i in chosen], rng=rng, spacing=spacing)
        data, scale = render(ink, rendering=rendering, rng=rng)
        yield NumberPicture(
            data=data, label="".join(str(int(labels[i])) for i in chosen),
            boxes=[tuple(round(v * scale) for v in box) for box in boxes],
            rendering=rendering, spacing=spacing, indices=chosen,
        )

