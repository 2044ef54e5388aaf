"""Finding the digits in a picture of a number: ink blobs cut and joined into digits.

The picture's ink (as `preprocessing` sees it) falls apart into blobs. A blob wider than a digit
may be digits that touch: it is cut across the writer's slant at close intervals, each cut along
the path of least ink, so touching digits part where they meet.
The pieces, in reading order, are then joined into digits by dynamic programming: every run of
neighbouring pieces is read by the network (any callable that scores a 28×28 picture), and the
chain of runs with the best total wins. Each digit's log-confidence counts, less costs for what
handwriting rarely does: a digit much wider than tall, one much shorter than its neighbours (a
detached bar is part of a "5", not a digit), a cut through ink, two separate full-height blobs
read as one. Where no chain keeps to those rules (a flourish wider than any digit, its cut pieces
shorter than one), the runs they forbid are read as marks that are no digit, and left out. A
picture of one digit gives the strokes `preprocessing.prepare_digit` keeps, so a lone digit reads
exactly as before.

Where digits interlock, no cut from top to bottom parts them. Given the line reader
(`predictor.line_reading`), which reads a blob whole without parting it, each blob it reads as
several digits is cut (however narrow), and each cut blob is joined anew into exactly as many
digits as it reads, the chain whose pieces the classifier reads most as the line reader does.
Where the joining gave a piece of such a blob to a digit of the next blob, the two are read by
the line reader together and joined anew together. Two neighbouring blobs close enough to be one
digit broken apart, each read as a digit, are read by the line reader together too, and joined
when it reads one digit there and together they look like one.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from predictor.line_reading import LineReading
from predictor.preprocessing import (
    MAX_DIGIT_PARTS,
    MAX_INK_COVERAGE,
    MIN_INK_CONTRAST,
    SPECK_FRACTION,
    NoDigitFound,
    _dilate_by_cross,
    _stroke_width,
    check_looks_drawn,
    digit_from_ink,
    stroke_pixels,
)

#: More digits than this in one picture is not a number someone wrote but text or texture.
MAX_DIGITS = 12
#: A blob this much wider than the line is tall (after deslanting) may be digits that touch.
MAYBE_SEVERAL_ASPECT = 0.75
#: Where the line reader undercounts a blob ("59" read as one "9"), joining as it reads leaves a run
#: at least UNDERCOUNT_WIDTH of the line's height wide that the segment scorer doubts is one digit
#: (below UNDERCOUNT_DOUBT); the first joining is kept instead when it made more runs, each scored at
#: least FIRST_JOINING_FLOOR. Chosen on validation numbers (docs/model.md, "A blob the line readers
#: undercount").
UNDERCOUNT_WIDTH = 1.2
UNDERCOUNT_DOUBT = 0.1
FIRST_JOINING_FLOOR = 0.05
#: The two readers disagree on how many digits such a blob holds: its digits' confidence is
#: multiplied by this, an even chance, so the reading is flagged unsure.
UNDERCOUNT_RELIABILITY = 0.5
#: Such a blob is cut at places this share of the line's height apart (across the slant). Each
#: cut follows the path of least ink within PATH_BAND of the line's height of the slanted line
#: through its place, bending only where that crosses less ink (BEND_COST a band's width).
CUT_STRIDE = 0.1
PATH_BAND = 0.25
BEND_COST = 0.3
#: A blob no wider than a digit that reads as one digit this surely (the reader's confidence times
#: how much it looks like one digit) is not cut: it is that digit.
SURE_READING = 0.5
#: A run of pieces wider than this (width / line height) is never one digit, so is not read.
MAX_RUN_ASPECT = 1.6
#: Slant is measured up to this (x per row); steeper is not handwriting.
MAX_SLANT = 0.6
#: The costs, in log-confidence. Each digit read costs DIGIT_COST; one wider than MAX_DIGIT_ASPECT
#: (width / line height) pays WIDTH_COST per unit more; one shorter than MIN_DIGIT_HEIGHT of the
#: line is not a digit; a cut pays CUT_COST for each stroke width of ink it crosses, and one more;
#: joining two separate blobs that are both of full height costs JOIN_COST.
DIGIT_COST = 1.0
MAX_DIGIT_ASPECT = 1.0
WIDTH_COST = 8.0
MIN_DIGIT_HEIGHT = 0.5
CUT_COST = 0.5
JOIN_COST = 2.0
#: What reading a run as a mark that is not a digit (a letter, a sign) costs beyond its
#: log-probability of not being one digit: more than a cut, so two touching digits are cut rather
#: than refused as one mark.
MARK_COST = 6.0
#: A digit cut out of a blob spans at least this share of the blob's height: touching digits stand
#: on one line, where the parts of a letter or a sign ("#" cut into a "7" and a "4") do not.
CUT_PIECE_HEIGHT = 0.75
#: A blob at least this share of the line's height tall is a digit's full height.
FULL_HEIGHT = 0.6
#: A straight line across this share of the picture's width or height is a line of the paper.
RULING_SPAN = 0.95
#: A blob smaller than this share of the line's height both ways is a speck: a dot, dust.
SPECK_SIDE = 0.25
#: A speck is a sign written between digits (a decimal point, a comma, a colon's dots, a short
#: dash), not dust or a wisp of a digit's stroke, when it is at least SIGN_THICKNESS of the
#: strokes' width thick both ways, at most SIGN_ELONGATION times as long one way as the other
#: unless it lies flat (a dash), and sits on the line of digits in a gap between two of them. Such
#: a mark is left out of the number like any mark that is no digit, and so makes the reading
#: unsure: "12.50" is not 1250.
SIGN_THICKNESS = 0.6
SIGN_ELONGATION = 2.5
#: Two neighbouring blobs at most this share of the line's height apart (or overlapping) are read
#: together by the line reader, to find a digit a scan broke in two (`_broken_digits_joined`).
BROKEN_GAP = 0.1
#: Writing that spans less than this share of the picture both ways (a number written small on a
#: page, a meter photographed from afar) is read again from a crop around it (`writing_box`).
ZOOM_BELOW = 0.4
#: The crop reaches this share of the writing's longer side beyond it on every side.
WRITING_MARGIN = 0.15

#: Scores a prepared 28×28 picture: the reader's confidence (0‥1) in the digit it reads there, and
#: how much the picture looks like one whole digit at all (0‥1).
Scorer = Callable[[np.ndarray], tuple[float, float]]
#: The classifier's ten probabilities for a prepared 28×28 picture.
Classify = Callable[[np.ndarray], np.ndarray]
#: Reads a blob of touching digits whole (`predictor.line_reading`): the ink picture, the blob's mask.
ReadLine = Callable[[np.ndarray, np.ndarray], LineReading]


@dataclass(frozen=True)
class DigitSegment:
    """One digit's strokes in the ink picture, and the 28×28 picture the network reads."""

    mask: np.ndarray  # bool, the ink picture's shape
    box: tuple[int, int, int, int]  # x, y, width, height in the ink picture's pixels
    pixels: np.ndarray  # 28×28 uint8
    is_digit: bool = True  # False: a mark read as no digit (a letter, a sign), best left out
    cut_out: bool = False  # parted from ink it touches: where touching digits were cut apart
    #: For a lone mark, the 28×28 picture with the specks inside its box put back (a face's eyes
    #: inside its circle), when there are any: what the refusal detector judges besides `pixels`,
    #: which keeps only the strokes `prepare_digit` keeps. A digit of a number is read with them.
    with_specks: np.ndarray | None = None
    #: For a digit of a blob the line reader read whole: its ten probabilities for this digit,
    #: which the reading weighs with the classifier's.
    line_probabilities: np.ndarray | None = None
    #: Whether the line reader read every blob this mark is made of as no digit at all.
    line_reads_nothing: bool = False
    #: How far the reading is to be trusted beside its confidence: below 1 for a lone stretched digit
    #: read narrowed (`predictor.reading.NARROWED_RELIABILITY`) and for the digits of a blob the line
    #: reader undercounted (UNDERCOUNT_RELIABILITY).
    reliability: float = 1.0
    #: A point or a dash written between digits (`signs_written`): no digit, and no reason to take
    #: the picture for anything but a number.
    sign: bool = False


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def _blobs(ink: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Labelled stroke blobs and the labels kept: specks smaller than SPECK_FRACTION of the largest
    are dropped, as `prepare_digit` does, a blob wider than tall counting as that many blobs of its
    height: measured against a run of touching digits whole, a thin "1" beside it was a speck."""
    strokes = stroke_pixels(ink)
    labels, count = ndimage.label(strokes, structure=np.ones((3, 3)))
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    if areas.sum() / strokes.size > MAX_INK_COVERAGE:
        raise NoDigitFound("No digit found: the picture looks like noise or texture, not digits.")
    sides = np.array([(rows.stop - rows.start, cols.stop - cols.start)
                      for rows, cols in ndimage.find_objects(labels)]).reshape(-1, 2)  # height, width
    per_height_square = areas / np.maximum(1.0, sides[:, 1] / sides[:, 0])
    return labels, [label + 1 for label in np.flatnonzero(areas >= SPECK_FRACTION * per_height_square.max())]


@dataclass(frozen=True)
class Writing:
    """A picture's ink without the lines of its paper, its strokes labelled into blobs, and the
    labels kept (specks dropped): the first step of reading it, made once."""

    ink: np.ndarray
    labels: np.ndarray
    kept: list[int]


def writing(ink: np.ndarray) -> Writing:
    """The writing in `ink` (from `preprocessing.picture_ink`). Raises NoDigitFound for blank pages,
    noise and texture."""
    ink = without_ruling(ink)
    check_looks_drawn(ink)
    labels, kept = _blobs(ink)
    return Writing(ink=ink, labels=labels, kept=kept)


def writing_box(written: Writing) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of a margin around the writing when it spans less than ZOOM_BELOW
    of the picture both ways, else None: at the working side such writing may be a few pixels tall,
    too small to read, while the upload holds it in detail. Specks and paper lines do not count."""
    strokes = np.isin(written.labels, written.kept)
    rows, cols = np.flatnonzero(strokes.any(1)), np.flatnonzero(strokes.any(0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    if height >= ZOOM_BELOW * strokes.shape[0] or width >= ZOOM_BELOW * strokes.shape[1]:
        return None
    margin = math.ceil(WRITING_MARGIN * max(height, width))
    return (max(cols[0] - margin, 0), max(rows[0] - margin, 0),
            min(cols[-1] + 1 + margin, strokes.shape[1]), min(rows[-1] + 1 + margin, strokes.shape[0]))


def _slant(labels: np.ndarray, kept: list[int]) -> float:
    """The writer's slant: how far x moves per row down along the strokes (x ≈ x₀ + slant·y),
    measured inside each blob (so digits on an uneven baseline do not count as slant), the blobs
    weighted by their vertical spread."""
    ys, xs = np.nonzero(np.isin(labels, kept))
    which = labels[ys, xs]
    covariance = spread = 0.0
    for label in kept:
        inside = which == label
        by, bx = ys[inside], xs[inside]
        centred = by - by.mean()
        covariance += float(centred @ (bx - bx.mean()))
        spread += float(centred @ centred)
    return float(np.clip(covariance / spread, -MAX_SLANT, MAX_SLANT)) if spread else 0.0


@dataclass
class _Piece:
    """Part of the ink: a whole blob, or a slice of one cut across the slant."""

    mask: np.ndarray
    blob: int
    left: float  # extent across the slant
    right: float
    top: int
    bottom: int
    cut_before: float = 0.0  # stroke widths of ink the cut at its left edge crosses; 0: no cut

    @property
    def height(self) -> int:
        return self.bottom - self.top


def _piece(mask: np.ndarray, across: np.ndarray, *, blob: int, cut_before: float = 0.0) -> _Piece:
    positions = across[mask]
    rows = np.flatnonzero(mask.any(1))
    return _Piece(mask, blob, float(positions.min()), float(positions.max()) + 1.0, int(rows[0]), int(rows[-1]) + 1, cut_before)


def _cut_blob(
    blob: _Piece, across: np.ndarray, *, slant: float, line_height: float, narrow_too: bool = False,
) -> list[_Piece]:
    """A wide blob sliced into pieces by cuts tried every CUT_STRIDE of the line's height, each
    along the path of least ink near its place (touching digits part where they meet); a narrow
    one stays whole unless `narrow_too`. The joining then weighs which cuts part digits and which
    part nothing."""
    if blob.right - blob.left < MAYBE_SEVERAL_ASPECT * line_height and not narrow_too:
        return [blob]
    stroke = max(_stroke_width(blob.mask), 1.0)
    start = math.floor(blob.left)
    stride = max(1, round(CUT_STRIDE * line_height))
    height, width = blob.mask.shape
    rows = np.arange(blob.top, blob.bottom)
    boundaries = [np.full(height, -np.inf)]
    crossings = [0.0]
    for cut in range(stride, math.ceil(blob.right - blob.left) - stride + 1, stride):
        # Paths from neighbouring places may cross; each keeps right of the one before.
        boundary = np.maximum(_cut_path(blob, start + cut, slant=slant, line_height=line_height), boundaries[-1])
        if np.array_equal(boundary[rows], boundaries[-1][rows]):
            continue  # the same cut as the one before: its path led into the same gap
        boundaries.append(boundary)
        inside = (boundary[rows] >= 0) & (boundary[rows] < width)
        crossings.append(float(blob.mask[rows[inside], boundary[rows][inside].astype(int)].sum()) / stroke)
    boundaries.append(np.full(height, np.inf))
    columns = np.arange(width)[None, :]
    pieces = []
    for index in range(len(boundaries) - 1):
        mask = blob.mask & (columns >= boundaries[index][:, None]) & (columns < boundaries[index + 1][:, None])
        if mask.any():
            pieces.append(_piece(mask, across, blob=blob.blob, cut_before=crossings[index] if pieces else 0.0))
    return pieces


def _cut_path(blob: _Piece, position: float, *, slant: float, line_height: float) -> np.ndarray:
    """Where to cut `blob` near `position` (across the slant): for each row of the picture, the
    column from which the right part starts. Through the blob's rows it is the path from top to
    bottom, within a band around the slanted line, that crosses the fewest stroke pixels (dynamic
    programming, a step of at most one column a row): two touching digits are parted along their
    gap even where it bends."""
    height, width = blob.mask.shape
    rows = np.arange(height)
    straight = np.round(position + slant * (rows - height / 2)).astype(int)
    band = max(2, round(PATH_BAND * line_height))
    offsets = np.arange(-band, band + 1)
    top, bottom = blob.top, blob.bottom
    xs = np.clip(straight[top:bottom, None] + offsets[None, :], 0, width - 1)
    cost = blob.mask[rows[top:bottom, None], xs].astype(float) + BEND_COST * np.abs(offsets)[None, :] / band
    total = cost.copy()
    came = np.zeros(cost.shape, dtype=int)
    for row in range(1, len(cost)):
        previous = np.stack([np.r_[np.inf, total[row - 1, :-1]], total[row - 1], np.r_[total[row - 1, 1:], np.inf]])
        step = np.argmin(previous, axis=0)
        came[row] = step - 1
        total[row] += previous[step, np.arange(len(offsets))]
    path = np.empty(len(cost), dtype=int)
    path[-1] = int(np.argmin(total[-1]))
    for row in range(len(cost) - 1, 0, -1):
        path[row - 1] = path[row] + came[row, path[row]]
    chosen = xs[np.arange(len(cost)), path]
    boundary = straight.astype(float)
    boundary[top:bottom] = chosen
    return boundary


def without_ruling(ink: np.ndarray) -> np.ndarray:
    """`ink` less the lines of lined or squared paper: straight runs across (nearly) the whole
    picture, found by an opening with a line that long, row by row and column by column. A pen's
    ink covers the line it crosses (a pixel's ink is the line's, L, where the pen leaves the paper
    bare and the pen's full ink, P, where it covers it, in proportion between): the pen's share
    there is (ink − L) / (P − L), so a stroke keeps its ink where it crosses a line instead of
    losing the line's (a solid stroke was left latticed on squared paper). P is the strongest ink
    off the lines; where it is not at least twice L (a blank page) the line is only taken out."""
    lines = np.zeros_like(ink)
    for axis in (0, 1):
        length = round(RULING_SPAN * ink.shape[axis])
        # Only rows (columns) inked almost all along can hold such a line: the opening runs on those.
        candidates = np.flatnonzero((ink > MIN_INK_CONTRAST / 2).mean(axis=axis) >= RULING_SPAN)
        if length < 2 or not len(candidates):
            continue
        along = np.take(ink, candidates, axis=1 - axis)
        opened = ndimage.maximum_filter1d(ndimage.minimum_filter1d(along, length, axis=axis), length, axis=axis)
        if axis == 0:
            lines[:, candidates] = np.maximum(lines[:, candidates], opened)
        else:
            lines[candidates] = np.maximum(lines[candidates], opened)
    if not lines.any():
        return ink
    bare = np.maximum(ink - lines, 0.0)
    off_lines = lines == 0
    full = float(ink[off_lines].max()) if off_lines.any() else 0.0
    # On a blank page the strongest ink off the lines is their own blur: the share would blow the
    # lines' noise up into strokes.
    covered = full >= 2 * lines
    return np.where(covered, np.clip(bare * full / np.maximum(full - lines, 1e-6), 0.0, full), bare)


def _window(mask: np.ndarray, pad: int = 4) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return np.s_[max(rows[0] - pad, 0) : rows[-1] + pad + 1, max(cols[0] - pad, 0) : cols[-1] + pad + 1]


def _prepared(ink: np.ndarray, mask: np.ndarray, near_strokes: np.ndarray) -> np.ndarray:
    """The 28×28 picture of the digit `mask`, the ink of every other digit (rims too) removed.
    `near_strokes`: all strokes grown by two pixels. Works in the box around `mask` only."""
    window = _window(mask)
    own = mask[window]
    others = near_strokes[window] & ~_dilate_by_cross(_dilate_by_cross(own))
    return digit_from_ink(ink=np.where(others, 0.0, ink[window]), mask=own)


def _run_size(run: list[_Piece]) -> tuple[float, float]:
    """How wide (across the writer's slant) and how tall pieces read together as one digit are."""
    return max(p.right for p in run) - min(p.left for p in run), max(p.bottom for p in run) - min(p.top for p in run)


class _RunShapes:
    """Which runs of neighbouring pieces may be one digit at all, by their shape alone."""

    def __init__(self, pieces: list[_Piece], *, line_height: float):
        self.pieces, self.line_height = pieces, line_height
        self.full_height = [piece.height >= FULL_HEIGHT * line_height for piece in pieces]
        self.blob_rows: dict[int, tuple[int, int]] = {}
        for piece in pieces:
            top, bottom = self.blob_rows.get(piece.blob, (piece.top, piece.bottom))
            self.blob_rows[piece.blob] = (min(top, piece.top), max(bottom, piece.bottom))
        self.pieces_of = {blob: sum(piece.blob == blob for piece in pieces) for blob in self.blob_rows}

    def width(self, start: int, end: int) -> float:
        return _run_size(self.pieces[start:end])[0]

    def too_wide(self, start: int, end: int) -> bool:
        """Wider than any digit (the whole picture is always allowed: it may be one mark)."""
        return self.width(start, end) > MAX_RUN_ASPECT * self.line_height and (start, end) != (0, len(self.pieces))

    def cost(self, start: int, end: int) -> float:
        """What reading the run of pieces `start`…`end` as one digit costs by its shape (see the
        module's constants): a digit, its width beyond a digit's, separate full-height blobs joined,
        the cut at its left."""
        pieces = self.pieces
        cost = DIGIT_COST + WIDTH_COST * max(self.width(start, end) / self.line_height - MAX_DIGIT_ASPECT, 0.0)
        cost += JOIN_COST * sum(
            1 for a in range(start, end - 1)
            if pieces[a + 1].blob != pieces[a].blob and self.full_height[a] and self.full_height[a + 1]
        )
        if start > 0 and pieces[start].cut_before:
            cost += CUT_COST * (1.0 + pieces[start].cut_before)
        return cost

    def may_be_digit(self, start: int, end: int) -> bool:
        """Not too wide, not too short for the line, and not a short part of a blob that was cut."""
        if self.too_wide(start, end):
            return False
        run = self.pieces[start:end]
        _, height = _run_size(run)
        if height < MIN_DIGIT_HEIGHT * self.line_height and len(self.pieces) > 1:
            return False
        if len({p.blob for p in run}) == 1 and len(run) < self.pieces_of[run[0].blob]:  # part of a cut blob
            top, bottom = self.blob_rows[run[0].blob]
            if height < CUT_PIECE_HEIGHT * (bottom - top):
                return False  # digits that touch stand on one line: each is about as tall as the pair
        return True


def _join(
    pieces: list[_Piece], *, line_height: float, read: Callable[[list[int]], tuple[float, float]], shaped: bool = True,
) -> list[tuple[list[int], bool]] | None:
    """The best chain of runs of neighbouring pieces, each run one digit or one mark that is not a
    digit (see the module's doc), as (run, is a digit); None when the shape rules leave no chain.
    `read(run)`: the reader's confidence in the run's pieces read as one digit, and how much they
    look like one digit at all. `shaped=False` lets a run the shape rules keep from being a digit
    be a mark (any one piece, however wide, too), so that some chain always exists: a "2" with a
    long flourish is wider than a digit, and the flourish's pieces, cut from it, are shorter than
    one; the flourish is then left out as a mark."""
    count = len(pieces)
    shapes = _RunShapes(pieces, line_height=line_height)
    best = [0.0] + [-math.inf] * count
    came_from = [(0, True)] * (count + 1)
    for end in range(1, count + 1):
        for start in range(end - 1, -1, -1):
            if shapes.too_wide(start, end) and end - start > 1:
                break  # runs only widen as they start further left
            digit_shaped = shapes.may_be_digit(start, end)  # unshaped, any run the break lets by may be a mark
            if best[start] == -math.inf or (shaped and not digit_shaped):
                continue
            value = best[start] - shapes.cost(start, end)
            if value <= best[end]:
                continue  # reading it cannot help: log-confidence is never positive
            confidence, one_digit = read(list(range(start, end)))
            as_digit = value + math.log(max(confidence * one_digit, 1e-9)) if digit_shaped else -math.inf
            as_mark = value - MARK_COST + math.log(max(1.0 - one_digit, 1e-9))
            if max(as_digit, as_mark) > best[end]:
                best[end], came_from[end] = max(as_digit, as_mark), (start, as_digit >= as_mark)
    if best[count] == -math.inf:
        return None
    runs, end = [], count
    while end > 0:
        start, is_digit = came_from[end]
        runs.append((list(range(start, end)), is_digit))
        end = start
    return runs[::-1]


def _join_as_read(
    pieces: list[_Piece], *, line_height: float, line: LineReading,
    read: Callable[[list[int]], tuple[np.ndarray, float]], shaped: bool = True,
) -> list[list[int]] | None:
    """The best chain of the pieces of one blob into exactly as many digits as the line reader
    read in it, each run weighed by how well the classifier's reading of it agrees with the line
    reader's for its place (the probability that both read the same digit), with `_join`'s costs;
    None when no such chain exists. `read(run)`: the classifier's ten probabilities for the run,
    and how much it looks like one digit at all. `shaped=False` lets any run no wider than a
    digit be one, however short (where touching digits share a stroke, the cuts may leave no
    chain of whole-looking digits of the count the line reader read)."""
    count, digits = len(pieces), len(line.digits)
    if not 0 < digits <= count:
        return None
    shapes = _RunShapes(pieces, line_height=line_height)
    best = np.full((digits + 1, count + 1), -math.inf)
    best[0, 0] = 0.0
    came_from: dict[tuple[int, int], int] = {}
    for end in range(1, count + 1):
        for start in range(end - 1, -1, -1):
            if shapes.too_wide(start, end) and end - start > 1:
                break
            if not np.isfinite(best[:digits, start]).any() or (shaped and not shapes.may_be_digit(start, end)):
                continue
            value = -shapes.cost(start, end)
            probabilities, one_digit = read(list(range(start, end)))
            agreement = line.probabilities @ np.asarray(probabilities)  # per place in the line
            for place in range(digits):
                if best[place, start] == -math.inf:
                    continue
                total = best[place, start] + value + math.log(max(float(agreement[place]) * one_digit, 1e-9))
                if total > best[place + 1, end]:
                    best[place + 1, end], came_from[(place + 1, end)] = total, start
    if best[digits, count] == -math.inf:
        return None
    runs, end = [], count
    for place in range(digits, 0, -1):
        start = came_from[(place, end)]
        runs.append(list(range(start, end)))
        end = start
    return runs[::-1]


@dataclass
class Layout:
    """A picture's ink cut into pieces, in reading order, ready to be joined into digits."""

    ink: np.ndarray
    strokes: np.ndarray  # every stroke pixel kept (specks and paper lines gone)
    specks: np.ndarray  # the stroke pixels dropped as specks
    near_strokes: np.ndarray  # the strokes grown by two pixels
    pieces: list[_Piece]
    line_height: float
    #: The line reader's reading of each blob it was asked about, by the blob's label.
    line_readings: dict[int, LineReading] = field(default_factory=dict)

    def __post_init__(self):
        self._masks: dict[tuple[int, ...], np.ndarray] = {}

    def run_mask(self, run: list[int]) -> np.ndarray:
        key = tuple(run)
        if key not in self._masks:
            self._masks[key] = np.logical_or.reduce([self.pieces[i].mask for i in run])
        return self._masks[key]

    def run_size(self, run: list[int]) -> tuple[float, float]:
        """The run's width across the writer's slant and its height."""
        return _run_size([self.pieces[i] for i in run])

    def prepared(self, run: list[int]) -> np.ndarray:
        """The 28×28 picture the network reads for these pieces read as one digit."""
        return _prepared(self.ink, self.run_mask(run), self.near_strokes)

    def with_specks(self, mask: np.ndarray) -> np.ndarray | None:
        """The 28×28 picture of `mask` with the specks inside its box put back, or None if none are:
        dust is dropped before reading, but marks inside a digit (eyes in a circle) make it no digit."""
        x, y, width, height = _box(mask)
        box = np.s_[y : y + height, x : x + width]
        inside = self.specks[box] & ~mask[box]
        if not inside.any():
            return None
        with_them = mask.copy()
        with_them[box] |= inside
        return _prepared(self.ink, with_them, self.near_strokes)

    def reads_nothing(self, run: Iterable[int]) -> bool:
        """Whether the line reader read each blob the pieces `run` belong to as no digit."""
        blobs = {self.pieces[i].blob for i in run}
        return bool(self.line_readings) and all(self.line_readings[blob].digits == "" for blob in blobs)

    def cut_out(self, run: list[int]) -> bool:
        """Whether the run was parted from ink of its own blob on either side."""
        before, after = run[0] - 1, run[-1] + 1
        return (before >= 0 and self.pieces[before].blob == self.pieces[run[0]].blob) or (
            after < len(self.pieces) and self.pieces[after].blob == self.pieces[run[-1]].blob)

    def candidate_runs(self) -> list[list[int]]:
        """Every run of neighbouring pieces that the joining weighs as a digit by its shape."""
        shapes = _RunShapes(self.pieces, line_height=self.line_height)
        count = len(self.pieces)
        return [list(range(start, end)) for start in range(count) for end in range(start + 1, count + 1)
                if shapes.may_be_digit(start, end)]


def _extent(blobs: list[_Piece]) -> float:
    """How wide the blobs are together across the slant, where they overlap counted once."""
    total, reach = 0.0, -math.inf
    for blob in sorted(blobs, key=lambda blob: blob.left):
        total += max(blob.right - max(blob.left, reach), 0.0)
        reach = max(reach, blob.right)
    return total


def layout(ink: np.ndarray | Writing, *, score: Scorer, read_line: ReadLine | None = None) -> Layout:
    """`ink` (from `preprocessing.picture_ink`, or its `writing` when the caller made it already) as
    pieces: paper lines and specks gone, blobs that may be digits touching cut (with `read_line`,
    also those the line reader reads as several digits, however narrow). Raises NoDigitFound for
    blank pages, noise and texture."""
    written = ink if isinstance(ink, Writing) else writing(ink)
    ink, labels, kept = written.ink, written.labels, written.kept
    strokes = np.isin(labels, kept)
    specks = (labels > 0) & ~strokes
    slant = _slant(labels, kept)
    rows, cols = np.indices(ink.shape)
    across = cols - slant * (rows - ink.shape[0] / 2)  # x with the writer's slant taken out
    blobs = [_piece(labels == label, across, blob=label) for label in kept]
    tallest = max(blob.height for blob in blobs)  # the line: how tall its full-height blobs are
    line_height = float(np.median([blob.height for blob in blobs if blob.height >= tallest / 2]))
    small = [max(blob.height, blob.right - blob.left) < SPECK_SIDE * line_height for blob in blobs]
    for blob, is_small in zip(blobs, small):
        if is_small:  # dropped as a speck, kept among the specks a digit is also judged with
            specks |= blob.mask
    blobs = [blob for blob, is_small in zip(blobs, small) if not is_small]
    if len(blobs) > MAX_DIGIT_PARTS * MAX_DIGITS:
        raise NoDigitFound("No digit found: the picture looks like noise or texture, not digits.")
    if _extent(blobs) > MAX_DIGITS * MAX_RUN_ASPECT * line_height:  # refused before the costly cutting
        raise NoDigitFound(f"No digit found: the marks are wider than a number of {MAX_DIGITS} digits written "
                           "on one line; they look like text or a drawing.")
    near_strokes = _dilate_by_cross(_dilate_by_cross(strokes))

    def settled(blob: _Piece) -> bool:
        """A blob no wider than a digit is not cut up when it is alone in the picture, or when it
        reads as one digit with confidence."""
        if blob.right - blob.left > MAX_DIGIT_ASPECT * line_height:
            return False
        if len(blobs) == 1:
            return True
        confidence, one_digit = score(_prepared(ink, blob.mask, near_strokes))
        return confidence * one_digit >= SURE_READING

    line_readings = {}
    pieces = []
    for blob in blobs:
        several = False
        if read_line is not None:
            line_readings[blob.blob] = read_line(ink, blob.mask)
            several = len(line_readings[blob.blob].digits) > 1
        if settled(blob) and not several:
            pieces.append(blob)
        else:
            pieces.extend(_cut_blob(blob, across, slant=slant, line_height=line_height, narrow_too=several))
    pieces.sort(key=lambda piece: (piece.left + piece.right) / 2)
    return Layout(ink=ink, strokes=strokes, specks=specks, near_strokes=near_strokes, pieces=pieces,
                  line_height=line_height, line_readings=line_readings)


def _groups(found: Layout, runs: list[tuple[list[int], bool]]) -> list[tuple[int, int]]:
    """The runs, as spans of positions (first, last), grouped where they hold pieces of one blob:
    each group holds every piece of its blobs, and a run that joined two blobs holds them in one."""
    spans: dict[int, tuple[int, int]] = {}
    for position, (run, _) in enumerate(runs):
        for index in run:
            blob = found.pieces[index].blob
            first, last = spans.get(blob, (position, position))
            spans[blob] = (min(first, position), max(last, position))
    groups: list[tuple[int, int]] = []
    for first, last in sorted(spans.values()):
        if groups and first <= groups[-1][1]:
            groups[-1] = (groups[-1][0], max(groups[-1][1], last))
        else:
            groups.append((first, last))
    return groups


def _undercounted(local: list[list[int]], pieces: list[_Piece], *, first_runs: list[list[int]], line_height: float,
                  read: Callable[[list[int]], tuple[np.ndarray, float]],
                  one_digit: Callable[[list[int]], float]) -> bool:
    """Whether joining as the line reader read (`local`, runs of `pieces`) left a wide run that
    looks like no one digit, where the first joining (`first_runs`, of the layout's pieces) made
    more runs that each look like a digit: then the line reader undercounted the blob."""
    if len(first_runs) <= len(local):
        return False
    wide_and_doubted = any(_run_size([pieces[i] for i in run])[0] >= UNDERCOUNT_WIDTH * line_height
                           and read(run)[1] < UNDERCOUNT_DOUBT for run in local)
    return wide_and_doubted and all(one_digit(run) >= FIRST_JOINING_FLOOR for run in first_runs)


def _as_read_whole(
    found: Layout, runs: list[tuple[list[int], bool]], *, score: Scorer, classify: Classify, read_line: ReadLine,
) -> tuple[list[tuple[list[int], bool]], dict[int, np.ndarray], set[int]]:
    """`runs` with each cut blob's runs joined anew to agree with the line reader's reading of the
    blob (`_join_as_read`), each such run's line-reader probabilities by its first piece, and the
    first pieces of the runs of blobs it undercounted (`_undercounted`), left as first joined. Runs
    read as marks that are no digit are joined anew too: the line reader, trained on letters and
    doodles as well, reads those as nothing, and a blob it reads as no digit keeps its joining.
    Where a run joined pieces of two blobs, both are joined anew together, as the line reader
    reads them together, but only when it read several digits in one of them: a "5" whose bar was
    written apart stays whole, and a "1" cut from the touching digits before it and joined with
    the next blob is given back. A group is also left as joined when no chain of its pieces gives
    the line reader's count, even with the shape rules for short runs set aside (tried second), or
    when the line reader undercounted it (`_undercounted`)."""
    line_probabilities: dict[int, np.ndarray] = {}
    undercounted: set[int] = set()
    replaced: dict[int, list[list[int]]] = {}  # the group's first position → its runs, joined anew
    for first, last in _groups(found, runs):
        indices = sorted(index for run, _ in runs[first : last + 1] for index in run)
        blobs = {found.pieces[i].blob for i in indices}
        if len(indices) < 2 or (len(blobs) > 1 and all(len(found.line_readings[b].digits) < 2 for b in blobs)):
            continue
        line = (found.line_readings[next(iter(blobs))] if len(blobs) == 1
                else read_line(found.ink, found.run_mask(indices)))  # the blobs read together, as one
        pieces = [found.pieces[i] for i in indices]

        def read(run: list[int]) -> tuple[np.ndarray, float]:
            pixels = found.prepared([indices[i] for i in run])
            return classify(pixels), score(pixels)[1]

        local = (_join_as_read(pieces, line_height=found.line_height, line=line, read=read)
                 or _join_as_read(pieces, line_height=found.line_height, line=line, read=read, shaped=False))
        if local is None:
            continue
        first_runs = [run for run, _ in runs[first : last + 1]]
        if _undercounted(local, pieces, first_runs=first_runs, line_height=found.line_height, read=read,
                         one_digit=lambda run: score(found.prepared(run))[1]):
            undercounted.update(run[0] for run in first_runs)
            continue
        replaced[first] = [[indices[i] for i in run] for run in local]
        for place, run in enumerate(replaced[first]):
            line_probabilities[run[0]] = line.probabilities[place]
        for position in range(first + 1, last + 1):
            replaced[position] = []
    joined = []
    for position, (run, is_digit) in enumerate(runs):
        joined.extend([(new, True) for new in replaced[position]] if position in replaced else [(run, is_digit)])
    return joined, line_probabilities, undercounted


def _broken_digits_joined(
    found: Layout, runs: list[tuple[list[int], bool]], *, score: Scorer, read_line: ReadLine,
) -> tuple[list[tuple[list[int], bool]], dict[int, np.ndarray]]:
    """`runs` with each two neighbours joined where they are two whole blobs, each read as one digit
    by the line reader, that it reads together as one digit: a digit whose strokes a scan or a
    light pen broke apart (a "4" in two strokes read as "61"). Only blobs at most BROKEN_GAP of the
    line's height apart are read together, and joined only when together they look like one digit
    (`score`) at least as much as the less digit-like of the two does alone: a "5" beside a "1"
    stretched into a slab, which the line reader read as one digit, is no one digit together.
    Also the line reader's probabilities of each joined digit, by its first piece, as for any digit
    joined as the line reader reads."""
    pieces_of = Counter(piece.blob for piece in found.pieces)

    def whole_blob_read_as_one(run: list[int], is_digit: bool) -> bool:
        blob = found.pieces[run[0]].blob
        return (is_digit and len(run) == pieces_of[blob] and all(found.pieces[i].blob == blob for i in run)
                and len(found.line_readings[blob].digits) == 1)

    def one_digit(run: list[int]) -> float:
        return score(found.prepared(run))[1]

    joined: list[tuple[list[int], bool]] = []
    line_probabilities: dict[int, np.ndarray] = {}
    for run, is_digit in runs:
        if joined and whole_blob_read_as_one(*joined[-1]) and whole_blob_read_as_one(run, is_digit):
            before = joined[-1][0]
            gap = min(found.pieces[i].left for i in run) - max(found.pieces[i].right for i in before)
            if gap <= BROKEN_GAP * found.line_height:
                together = read_line(found.ink, found.run_mask(before + run))
                if len(together.digits) == 1 and one_digit(before + run) >= min(one_digit(before), one_digit(run)):
                    line_probabilities[before[0]] = together.probabilities[0]
                    joined[-1] = (before + run, True)
                    continue
        joined.append((run, is_digit))
    return joined, line_probabilities


def find_digits(
    ink: np.ndarray | Writing, *, score: Scorer, classify: Classify | None = None, read_line: ReadLine | None = None,
) -> list[DigitSegment]:
    """The digits in `ink` (from `preprocessing.picture_ink`, or its `writing`), left to right. With `classify` and
    `read_line`, blobs of touching digits are joined as the line reader reads them whole. Points
    and dashes written between digits come among them as marks that are no digit (`signs_written`).

    Raises NoDigitFound for blank pages, noise and texture, as `prepare_digit` does."""
    reads_whole = classify is not None and read_line is not None
    found = layout(ink, score=score, read_line=read_line if reads_whole else None)

    def read(run: list[int]) -> tuple[float, float]:
        return score(found.prepared(run))

    runs = (_join(found.pieces, line_height=found.line_height, read=read)
            or _join(found.pieces, line_height=found.line_height, read=read, shaped=False))
    line_probabilities: dict[int, np.ndarray] = {}
    undercounted: set[int] = set()
    if reads_whole:
        runs, line_probabilities, undercounted = _as_read_whole(found, runs, score=score, classify=classify,
                                                                read_line=read_line)
        runs, joined_probabilities = _broken_digits_joined(found, runs, score=score, read_line=read_line)
        line_probabilities.update(joined_probabilities)
    if len(runs) == 1:  # one mark: every stroke `prepare_digit` keeps, so a digit reads as it always has
        strokes = found.strokes
        segments = [DigitSegment(mask=strokes, box=_box(strokes), pixels=digit_from_ink(ink=found.ink, mask=strokes),
                                 is_digit=runs[0][1], with_specks=found.with_specks(strokes),
                                 line_reads_nothing=found.reads_nothing(range(len(found.pieces))))]
    elif len(runs) > MAX_DIGITS:
        raise NoDigitFound(
            f"No digit found: the picture holds more than {MAX_DIGITS} marks; it looks like text or texture."
        )
    else:
        segments = []
        for run, is_digit in runs:
            mask = found.run_mask(run)
            # A speck inside a digit's box is most often a piece of it that a scan or a light pen
            # broke off (the top of a "7"): the digit is read with it, and judged so too.
            with_specks = found.with_specks(mask)
            segments.append(DigitSegment(mask=mask, box=_box(mask), is_digit=is_digit, cut_out=found.cut_out(run),
                                         pixels=found.prepared(run) if with_specks is None else with_specks,
                                         line_probabilities=line_probabilities.get(run[0]),
                                         line_reads_nothing=found.reads_nothing(run),
                                         reliability=UNDERCOUNT_RELIABILITY if run[0] in undercounted else 1.0))
    for mask in signs_written(found, [segment.box for segment in segments if segment.is_digit]):
        sign = DigitSegment(mask=mask, box=_box(mask), pixels=_prepared(found.ink, mask, found.near_strokes),
                            is_digit=False, sign=True)
        place = sum(segment.box[0] < sign.box[0] for segment in segments)
        segments.insert(place, sign)
    return segments


def signs_written(found: Layout, boxes: list[tuple[int, int, int, int]]) -> list[np.ndarray]:
    """The specks of `found` that are signs written between the digits in `boxes` (SIGN_THICKNESS)."""
    if len(boxes) < 2 or not found.specks.any():
        return []
    boxes = sorted(boxes)
    top, bottom = min(y for _, y, _, _ in boxes), max(y + height for _, y, _, height in boxes)
    gaps = [(left + width, right) for (left, _, width, _), (right, _, _, _) in zip(boxes, boxes[1:])]
    labels, _ = ndimage.label(found.specks, structure=np.ones((3, 3)))
    placed = [(label, window) for label, window in enumerate(ndimage.find_objects(labels), start=1)
              if top <= (window[0].start + window[0].stop) / 2 <= bottom + SPECK_SIDE * found.line_height
              and any(start <= window[1].start and window[1].stop <= end for start, end in gaps)]
    if not placed:  # most specks (dust, a digit's wisps off the line) end here, before any stroke is measured
        return []
    thinnest = SIGN_THICKNESS * _stroke_width(found.strokes)
    signs = []
    for label, window in placed:
        height, width = window[0].stop - window[0].start, window[1].stop - window[1].start
        flat = width >= 2 * height
        if min(height, width) >= thinnest and (max(height, width) <= SIGN_ELONGATION * min(height, width) or flat):
            signs.append(labels == label)
    return signs
