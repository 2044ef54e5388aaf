"""Pictures that are not one digit, for teaching the digit detector what to refuse.

Made from training data only: MNIST training digits set side by side until they touch (what a
segmenter must not read as one digit), MNIST training digits with a part cut away (what it must not
read as a digit either), letters and signs from handwriting and typeset fonts
(`training/data/glyphs.npz`, rendered by `render_glyphs`), and scribbles drawn here: random
strokes, loops, zigzags, stars, faces. Every picture goes through the server's own
`digit_from_ink`, so it looks the way a segment of an upload does when it reaches the network.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from predictor.preprocessing import NoDigitFound, digit_from_ink

GLYPHS_PATH = Path(__file__).parent / "data" / "glyphs.npz"
#: Letters a reader could take for a digit (the numbers issue lists O, I, l, S, Z, B, b, G, g, q,
#: T) and their look-alikes in the other case are left out, and so are signs that look like a 1.
LOOK_ALIKES = set("OoIilSsZzBbGgqTJj|/\\()[]{}!")
GLYPHS = "".join(
    character for character in "ABCDEFHKLMNPQRUVWXYacdefhkmnprtuvwxy+=#%&@$*?<>~^" if character not in LOOK_ALIKES
)
#: A fragment narrower than this (width / height) looks like a "1"; it is not used.
NARROW_PART = 0.4
#: Handwriting and informal fonts from Debian's packages (fonts-dkg-handwriting, fonts-breip,
#: fonts-femkeklaver, fonts-rufscript, fonts-sjfonts, fonts-comic-neue).
FONT_FOLDERS = ("fifthhorseman", "breip", "femkeklaver", "rufscript", "sjfonts", "comic-neue")
#: Typeset fonts, after the handwriting ones (their glyphs' font indices follow): a letter typed or
#: printed, photographed or screenshotted, is refused too. Debian's fonts-lato, fonts-urw-base35,
#: fonts-noto-core, fonts-open-sans, fonts-crosextra-carlito and fonts-crosextra-caladea; the first
#: two are held out as validation (`training.detector.VALIDATION_FONTS`), no other face of their
#: families is drawn from, and none is a DejaVu font (the test split's letters) or in
#: `bench/detector_seeds.py`'s unseen fonts.
TYPESET_FONTS = (
    "Lato-Regular.ttf", "C059-Roman.otf",
    "NimbusSans-Regular.otf", "NimbusSans-BoldItalic.otf", "NimbusRoman-Regular.otf", "NimbusRoman-Italic.otf",
    "NimbusMonoPS-Regular.otf", "NimbusMonoPS-Bold.otf", "NimbusSansNarrow-Regular.otf", "URWGothic-Book.otf",
    "URWBookman-Light.otf", "P052-Roman.otf", "P052-BoldItalic.otf", "NotoSans-Regular.ttf", "NotoSans-Bold.ttf",
    "NotoSerif-Regular.ttf", "NotoSerif-Italic.ttf", "OpenSans-Regular.ttf", "OpenSans-Semibold.ttf",
    "Carlito-Regular.ttf", "Caladea-Regular.ttf", "Caladea-BoldItalic.ttf",
)
#: The Debian packages `render_glyphs` needs for FONT_FOLDERS and TYPESET_FONTS.
FONT_PACKAGES = (
    "fonts-dkg-handwriting fonts-breip fonts-femkeklaver fonts-rufscript fonts-sjfonts fonts-comic-neue "
    "fonts-lato fonts-urw-base35 fonts-noto-core fonts-open-sans fonts-crosextra-carlito fonts-crosextra-caladea"
)


def _prepared(ink: np.ndarray) -> np.ndarray | None:
    """`ink` (0‥255 float) as the 28×28 picture the network would read, or None if it holds nothing."""
    mask = ink > 0.5 * ink.max() if ink.max() > 0 else None
    if mask is None or not mask.any():
        return None
    try:
        return digit_from_ink(ink=ink, mask=mask)
    except NoDigitFound:
        return None


def _digit_ink(digit: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(digit.max(1) > 20), np.flatnonzero(digit.max(0) > 20)
    return digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float64)


def touching_pair(first: np.ndarray, second: np.ndarray, *, rng: np.random.Generator) -> np.ndarray | None:
    """Two (or, with `second` twice, three) digits side by side, touching or nearly, read as one."""
    inks = [_digit_ink(first), _digit_ink(second)]
    if rng.random() < 0.25:
        inks.append(_digit_ink(first if rng.random() < 0.5 else second))
    height = max(ink.shape[0] for ink in inks)
    overlap = rng.uniform(0.0, 0.3)
    width = sum(ink.shape[1] for ink in inks) + 4
    field = np.zeros((height + 4, width))
    x = 2
    for ink in inks:
        top = 2 + height - ink.shape[0] - int(rng.integers(0, 3))
        region = field[top : top + ink.shape[0], x : x + ink.shape[1]]
        np.maximum(region, ink[: region.shape[0], : region.shape[1]], out=region)
        x += ink.shape[1] - int(overlap * ink.shape[1])
    return _prepared(field[:, : x + int(overlap * inks[-1].shape[1]) + 2])


def fragment(digit: np.ndarray, *, rng: np.random.Generator) -> np.ndarray | None:
    """A digit with a large part cut away: its left, right, top or bottom 35‥60 % only."""
    ink = _digit_ink(digit)
    height, width = ink.shape
    keep = rng.uniform(0.35, 0.6)
    side = rng.integers(4)
    if side == 0:
        ink = ink[:, : max(2, int(width * keep))]
    elif side == 1:
        ink = ink[:, int(width * (1 - keep)) :]
    elif side == 2:
        ink = ink[: max(2, int(height * keep))]
    else:
        ink = ink[int(height * (1 - keep)) :]
    rows, cols = np.flatnonzero(ink.max(1) > 20), np.flatnonzero(ink.max(0) > 20)
    if not len(rows) or (cols[-1] - cols[0] + 1) < NARROW_PART * (rows[-1] - rows[0] + 1):
        return None  # a narrow upright piece is a "1" whatever it was cut from
    return _prepared(np.pad(ink, 2))


def scribble(*, rng: np.random.Generator, side: int = 112) -> np.ndarray | None:
    """A doodle: a random smooth stroke, loops, a zigzag, a star, a face, crossing lines or a box."""
    canvas = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(canvas)
    width = int(rng.integers(6, 14))
    kind = rng.integers(7)
    centre = side / 2
    if kind == 0:  # a wandering stroke
        points, angle, position = [], rng.uniform(0, 2 * math.pi), np.array([centre, centre])
        for _ in range(int(rng.integers(8, 20))):
            angle += rng.normal(0, 0.9)
            position = np.clip(position + 9 * np.array([math.cos(angle), math.sin(angle)]), 10, side - 10)
            points.append(tuple(position))
        draw.line(points, fill=255, width=width, joint="curve")
    elif kind == 1:  # loops
        turns, radius = rng.uniform(1.5, 4), rng.uniform(8, 18)
        points = [
            (centre + radius * math.cos(t) + 6 * t - 25, centre + radius * math.sin(t))
            for t in np.linspace(0, 2 * math.pi * turns, 80)
        ]
        draw.line(points, fill=255, width=width, joint="curve")
    elif kind == 2:  # zigzag
        count = int(rng.integers(3, 7))
        xs = np.linspace(15, side - 15, count * 2)
        draw.line([(x, 30 if i % 2 else side - 30) for i, x in enumerate(xs)], fill=255, width=width)
    elif kind == 3:  # star
        spikes, outer, inner = int(rng.integers(5, 8)), 45, rng.uniform(12, 22)
        points = [
            (centre + (outer if i % 2 == 0 else inner) * math.cos(math.pi * i / spikes),
             centre + (outer if i % 2 == 0 else inner) * math.sin(math.pi * i / spikes))
            for i in range(2 * spikes + 1)
        ]
        draw.line(points, fill=255, width=width)
    elif kind == 4:  # a face
        draw.ellipse((12, 12, side - 12, side - 12), outline=255, width=width)
        for eye in (0.35, 0.65):
            draw.ellipse((side * eye - 6, side * 0.38 - 6, side * eye + 6, side * 0.38 + 6), fill=255)
        draw.arc((side * 0.3, side * 0.45, side * 0.7, side * 0.75), 20, 160, fill=255, width=width // 2 + 2)
    elif kind == 5:  # crossing lines
        for _ in range(int(rng.integers(3, 6))):
            draw.line([tuple(rng.uniform(10, side - 10, 2)), tuple(rng.uniform(10, side - 10, 2))], fill=255, width=width)
    else:  # a box, a triangle or a hatched patch
        corners = int(rng.integers(3, 5))
        points = [
            (centre + 40 * math.cos(2 * math.pi * i / corners + 0.3), centre + 40 * math.sin(2 * math.pi * i / corners + 0.3))
            for i in range(corners + 1)
        ]
        draw.line(points, fill=255, width=width)
        if rng.random() < 0.5:
            for offset in range(-30, 31, 15):
                draw.line([(centre - 30, centre + offset), (centre + 30, centre + offset - 20)], fill=255, width=width // 2 + 1)
    return _prepared(np.asarray(canvas, dtype=np.float64))


def installed_fonts(
    *, folders: tuple[str, ...] = FONT_FOLDERS, typeset: tuple[str, ...] = TYPESET_FONTS,
    font_root: Path = Path("/usr/share/fonts"),
) -> list[Path]:
    """The installed fonts of `folders` (training's FONT_FOLDERS unless told), in a stable order,
    then those of the `typeset` file names (TYPESET_FONTS unless told) in their order."""
    handwriting = sorted(
        path for folder in folders for pattern in ("*.ttf", "*.otf")
        for path in font_root.glob(f"**/{folder}/{pattern}")
    )
    if not typeset:
        return handwriting
    found = {path.name: path for pattern in ("*.ttf", "*.otf") for path in sorted(font_root.glob(f"**/{pattern}"))}
    return handwriting + [found[name] for name in typeset if name in found]


def render_glyphs(*, fonts: list[Path], size: int = 96) -> tuple[np.ndarray, np.ndarray]:
    """Every glyph of GLYPHS in each of `fonts`, prepared as 28×28 pictures, and the index of the
    font each came from (for holding a font out as validation)."""
    pictures, sources = [], []
    for index, path in enumerate(fonts):
        font = ImageFont.truetype(str(path), size)
        for character in GLYPHS:
            canvas = Image.new("L", (size * 2, size * 2), 0)
            ImageDraw.Draw(canvas).text((size // 2, size // 4), character, fill=255, font=font)
            prepared = _prepared(np.asarray(canvas, dtype=np.float64))
            if prepared is not None:
                pictures.append(prepared)
                sources.append(index)
    return np.array(pictures, dtype=np.uint8), np.array(sources, dtype=np.int16)


def load_glyphs(path: Path = GLYPHS_PATH) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as data:
        return data["x"], data["font"]


def non_digits(
    digits: np.ndarray, *, count: int, seed: int, glyphs: np.ndarray, shares: dict[str, float] | None = None
) -> np.ndarray:
    """`count` 28×28 pictures that are not one digit, made from `digits` (training digits only),
    `glyphs` and scribbles, in the given shares."""
    shares = shares or {"pairs": 0.35, "fragments": 0.2, "glyphs": 0.25, "scribbles": 0.2}
    rng = np.random.default_rng(seed)
    made: list[np.ndarray] = []
    kinds = list(shares)
    weights = np.array([shares[kind] for kind in kinds]) / sum(shares.values())
    while len(made) < count:
        kind = kinds[rng.choice(len(kinds), p=weights)]
        if kind == "pairs":
            first, second = rng.choice(len(digits), 2, replace=False)
            picture = touching_pair(digits[first], digits[second], rng=rng)
        elif kind == "fragments":
            picture = fragment(digits[rng.integers(len(digits))], rng=rng)
        elif kind == "glyphs":
            picture = glyphs[rng.integers(len(glyphs))]
        else:
            picture = scribble(rng=rng)
        if picture is not None:
            made.append(picture)
    return np.stack(made)
