"""Reading a blob of touching digits whole: the bundled line reader's digits for its ink.

Cutting touching digits apart fails where they interlock (a "2"'s tail under the next digit, two
rings that cross): no cut from top to bottom parts them. The line reader (`training.line_reader`)
reads the blob as a whole, without parting it: a small convolutional network that scores each
narrow column band of the blob's picture as one of the ten digits or as nothing (CTC), trained on
touching numbers written from MNIST training digits. The segmenter asks it how many digits a blob
holds and which, and keeps the joining of pieces that agrees with it (`predictor.segmentation`).
Three such networks are bundled, trained alike but for their seeds and the longest blobs they
learnt; each decodes the blob, and the digits the three find likeliest together are kept
(`LineReaders`). Served by LiteRT, without TensorFlow, loaded lazily in each process after any
fork, as the detector is (`predictor.rejection.bundled_network`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from predictor.preprocessing import _dilate_by_cross
from predictor.rejection import SignatureNetwork, bundled_network

#: The line reader's picture: the blob's ink scaled to INK_HEIGHT px tall (kept in proportion, or
#: squeezed when it would be wider than fits) in a black field LINE_HEIGHT × LINE_WIDTH.
LINE_HEIGHT = 32
LINE_WIDTH = 128
INK_HEIGHT = 28
MARGIN = 2
#: The network's last layer scores 11 classes per column band: the ten digits and "nothing here".
BLANK = 10
#: The bundled line readers' names (`<name>.tflite` and `<name>_card.json`): seed 2 of the recipe,
#: seed 1 of it, and seed 2 of it with blobs of up to six digits (docs/model.md, "Line readers voting").
LINE_READERS = ("line_reader", "line_reader_seed1", "line_reader_six")


def line_picture(*, ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The LINE_HEIGHT × LINE_WIDTH uint8 picture of the strokes `mask` in `ink` (high on a zero
    background, on any scale: it is divided by its highest value): their ink and anti-aliased rims,
    nothing else, scaled to INK_HEIGHT px tall, left-aligned."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    window = np.s_[max(rows[0] - 2, 0) : rows[-1] + 3, max(cols[0] - 2, 0) : cols[-1] + 3]
    own = _dilate_by_cross(_dilate_by_cross(mask[window]))
    strokes = np.where(own, ink[window], 0.0)
    top = max(float(strokes.max()), 1e-6)
    crop = np.clip(strokes / top, 0.0, 1.0)
    height, width = crop.shape
    scaled_height = INK_HEIGHT
    scaled_width = max(1, min(round(width * INK_HEIGHT / height), LINE_WIDTH - 2 * MARGIN))
    scaled = Image.fromarray((crop * 255).astype(np.uint8)).resize((scaled_width, scaled_height),
                                                                   Image.Resampling.BILINEAR)
    picture = np.zeros((LINE_HEIGHT, LINE_WIDTH), np.uint8)
    offset = (LINE_HEIGHT - scaled_height) // 2
    picture[offset : offset + scaled_height, MARGIN : MARGIN + scaled_width] = np.asarray(scaled)
    return picture


@dataclass(frozen=True)
class LineReading:
    """The digits the line reader reads in a blob, each with its ten probabilities."""

    digits: str
    probabilities: np.ndarray  # one row of 10 per digit, each summing to 1


def decode(scores: np.ndarray) -> LineReading:
    """The best path's digits of per-band scores (bands × 11, softmax, BLANK last): repeats merged,
    blanks dropped. Each digit's probabilities are those of the band where it scored highest,
    less the blank, renormalised."""
    best = scores.argmax(axis=1)
    digits, rows, current = [], [], None
    for band, label in enumerate(best):
        if label == BLANK:
            current = None
            continue
        if current is not None and current[0] == label:
            if scores[band, label] > scores[current[1], label]:
                current = (label, band)
                rows[-1] = band
            continue
        current = (label, band)
        digits.append(int(label))
        rows.append(band)
    probabilities = np.array([scores[row, :BLANK] / max(scores[row, :BLANK].sum(), 1e-9) for row in rows])
    return LineReading(digits="".join(map(str, digits)), probabilities=probabilities.reshape(-1, 10))


def log_likelihood(scores: np.ndarray, digits: str) -> float:
    """The log-probability that per-band scores (bands × 11, softmax, BLANK last) spell `digits`,
    all the paths that do summed (the CTC forward pass)."""
    logs = np.log(np.maximum(scores, 1e-30))
    if not digits:
        return float(logs[:, BLANK].sum())
    states = np.full(2 * len(digits) + 1, BLANK)  # blank, digit, blank, digit, …, blank
    states[1::2] = [int(digit) for digit in digits]
    may_skip = np.zeros(len(states), bool)  # from the digit before, over the blank between
    may_skip[3::2] = states[3::2] != states[1:-2:2]
    alpha = np.full(len(states), -np.inf)
    alpha[:2] = logs[0, states[:2]]
    for band in range(1, len(scores)):
        step = np.r_[-np.inf, alpha[:-1]]
        skip = np.where(may_skip, np.r_[-np.inf, -np.inf, alpha[:-2]], -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, step), skip) + logs[band, states]
    return float(np.logaddexp(alpha[-1], alpha[-2]))


class LineReader(SignatureNetwork):
    """A bundled line reader (LiteRT): input `line`, output `bands`."""

    def __init__(self, *, path: Path, threads: int = 1):
        super().__init__(path=path, input_name="line", output_name="bands", threads=threads)

    def scores(self, picture: np.ndarray) -> np.ndarray:
        """Per-band softmax scores (bands × 11) of a `line_picture`."""
        return self.output(picture)

    def read(self, ink: np.ndarray, mask: np.ndarray) -> LineReading:
        return decode(self.scores(line_picture(ink=ink, mask=mask)))


class LineReaders:
    """Line readers voting: each decodes the blob; of the digits they read, those with the highest
    log-likelihood summed over all of them are kept, with the probabilities of the first reader
    that read them. Averaging their band scores instead fails: each network places its digits in
    bands of its own, so their peaks do not line up."""

    def __init__(self, readers: list[LineReader]):
        self.readers = readers

    def read(self, ink: np.ndarray, mask: np.ndarray) -> LineReading:
        picture = line_picture(ink=ink, mask=mask)
        scores = [reader.scores(picture) for reader in self.readers]
        readings: dict[str, LineReading] = {}
        for reading in map(decode, scores):
            readings.setdefault(reading.digits, reading)
        if len(readings) == 1:
            return next(iter(readings.values()))
        return readings[max(readings, key=lambda digits: sum(log_likelihood(each, digits) for each in scores))]


def get_line_reader() -> LineReaders:
    """The bundled line readers, voting; this process's copy."""
    return bundled_network("line_readers", lambda directory: LineReaders(
        [LineReader(path=directory / f"{name}.tflite") for name in LINE_READERS]))
