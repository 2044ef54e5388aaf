"""The line reader: its picture of a blob, its decoding, and the bundled network on touching digits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from predictor.line_reading import (
    BLANK,
    INK_HEIGHT,
    LINE_HEIGHT,
    LINE_READERS,
    LINE_WIDTH,
    LineReaders,
    LineReading,
    decode,
    get_line_reader,
    line_picture,
    log_likelihood,
)
from predictor.preprocessing import open_image, picture_ink, stroke_pixels, working_side
from predictor.tests import renders
from training.number_pictures import compose, render

DIGITS, LABELS = renders.mnist_samples()


def _bands(labels: list[int], *, sure: float = 0.9) -> np.ndarray:
    """Per-band scores whose best path is `labels` (BLANK for a band with nothing)."""
    scores = np.full((len(labels), BLANK + 1), (1 - sure) / BLANK)
    scores[np.arange(len(labels)), labels] = sure
    return scores


def test_decoding_merges_repeats_and_drops_blanks():
    reading = decode(_bands([BLANK, 4, 4, BLANK, 2, BLANK, BLANK, 2, 2, 6, BLANK]))
    assert reading.digits == "4226"
    assert reading.probabilities.shape == (4, 10)
    assert np.allclose(reading.probabilities.sum(axis=1), 1.0)
    assert reading.probabilities.argmax(axis=1).tolist() == [4, 2, 2, 6]


def test_decoding_only_blanks_reads_nothing():
    reading = decode(_bands([BLANK] * 8))
    assert reading.digits == "" and reading.probabilities.shape == (0, 10)


def test_a_digits_probabilities_come_from_its_surest_band():
    scores = _bands([BLANK, 7, 7, BLANK])
    scores[2] = 0.0
    scores[2, 7], scores[2, 1] = 0.6, 0.4
    scores[1] = 0.0
    scores[1, 7], scores[1, 1] = 0.95, 0.05
    assert decode(scores).probabilities[0][7] == pytest.approx(0.95)


@pytest.mark.parametrize("digits", ["", "7", "77", "17", "171"])
def test_the_log_likelihood_sums_every_path_that_spells_the_digits(digits):
    scores = np.random.default_rng(len(digits)).dirichlet(np.ones(BLANK + 1), size=4)
    total = 0.0
    for path in itertools.product(range(BLANK + 1), repeat=len(scores)):
        spelt = "".join(str(label) for index, label in enumerate(path)
                        if label != BLANK and (index == 0 or path[index - 1] != label))  # repeats merged, blanks dropped
        if spelt == digits:
            total += np.prod(scores[np.arange(len(scores)), path])
    assert log_likelihood(scores, digits) == pytest.approx(np.log(total))


class _Reads:
    """A stand-in line reader whose band scores read `digits` with `sure` in each digit's band."""

    def __init__(self, digits: str, sure: float = 0.9):
        self.bands = _bands([label for digit in digits for label in (int(digit), BLANK)] or [BLANK], sure=sure)

    def scores(self, picture: np.ndarray) -> np.ndarray:
        return self.bands


def test_line_readers_keep_the_digits_likeliest_over_all_of_them():
    ink = np.zeros((40, 40))
    ink[5:35, 18:22] = 1.0
    readers = LineReaders([_Reads("1"), _Reads("7"), _Reads("7")])
    reading = readers.read(ink, ink > 0)
    assert reading.digits == "7"  # the first reader alone reads "1"
    assert reading.probabilities[0][7] == pytest.approx(0.9 / (0.9 + 9 * 0.01))
    assert LineReaders([_Reads("1", sure=0.99), _Reads("7", sure=0.5), _Reads("")]).read(ink, ink > 0).digits == "1"


def test_three_line_readers_are_bundled():
    assert len(get_line_reader().readers) == len(LINE_READERS) == 3


def test_the_line_picture_holds_the_blob_scaled_to_the_ink_height_left_aligned():
    ink = np.zeros((200, 300))
    ink[50:150, 40:90] = 1.0  # a blob 100 tall, 50 wide
    ink[10:20, 200:210] = 1.0  # another mark, not the blob's
    mask = np.zeros(ink.shape, bool)
    mask[50:150, 40:90] = True
    picture = line_picture(ink=ink, mask=mask)
    assert picture.shape == (LINE_HEIGHT, LINE_WIDTH) and picture.dtype == np.uint8
    rows, cols = np.flatnonzero(picture.max(1) > 128), np.flatnonzero(picture.max(0) > 128)
    assert len(rows) == pytest.approx(INK_HEIGHT, abs=2)
    assert len(cols) == pytest.approx(INK_HEIGHT / 2, abs=2)  # in proportion
    assert cols[0] <= 3
    assert picture.sum() == pytest.approx(picture[:, : cols[-1] + 2].sum())  # the other mark is not in it


def test_a_blob_wider_than_the_picture_is_squeezed_into_it():
    ink = np.zeros((60, 1000))
    ink[10:50, 10:990] = 1.0
    picture = line_picture(ink=ink, mask=ink > 0)
    assert picture[:, -1].max() == 0 and picture[:, LINE_WIDTH - 4].max() > 128


def _touching_blob(indices: list[int], *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ink, _ = compose([DIGITS[i] for i in indices], rng=rng, spacing="touching")
    data, _ = render(ink, rendering="scan", rng=rng)
    image, _ = open_image(data, side=None)
    seen = picture_ink(image, side=working_side(image.size))
    return seen, stroke_pixels(seen)


def test_the_bundled_line_reader_reads_touching_digits_whole():
    reader = get_line_reader()
    right = total = 0
    for seed in range(10):
        indices = [int(i) for i in np.random.default_rng(seed).choice(len(DIGITS), size=2 + seed % 3, replace=False)]
        ink, mask = _touching_blob(indices, seed=seed)
        reading = reader.read(ink, mask)
        assert isinstance(reading, LineReading)
        right += reading.digits == "".join(str(int(LABELS[i])) for i in indices)
        total += 1
    assert right >= 8, f"{right} of {total}"


def test_the_two_readers_are_weighed_together():
    from predictor.inference import Prediction
    from predictor.reading import _with_line_reading

    classifier = np.full(10, 0.02)
    classifier[1], classifier[7] = 0.50, 0.34  # the cut-out piece looks more like a "1"
    line = np.full(10, 0.01)
    line[7], line[1] = 0.80, 0.12  # the whole blob reads a "7" there
    prediction = Prediction(digit=1, confidence=0.5, probabilities=classifier.tolist(), model_version="v")
    weighed = _with_line_reading(prediction, line)
    expected = classifier * line / (classifier * line).sum()
    assert weighed.digit == 7 and weighed.confidence == pytest.approx(expected[7])
    assert weighed.probabilities == pytest.approx(expected.tolist())
    assert _with_line_reading(prediction, None) is prediction


def test_the_bundled_line_reader_reads_letters_of_fonts_it_never_learnt_from_as_nothing():
    """Letters are read as no digit, so a letter cut into strokes is not joined into digits."""
    from training.detector import VALIDATION_FONTS
    from training.negatives import load_glyphs

    glyphs, fonts = load_glyphs()
    held_out = glyphs[np.isin(fonts, VALIDATION_FONTS)]
    reader = get_line_reader()
    inks = [glyph.astype(float) for glyph in held_out]  # ink on MNIST's scale, as `picture_ink` gives
    nothing = [reader.read(ink, stroke_pixels(ink)).digits == "" for ink in inks]
    assert np.mean(nothing) >= 0.9, f"{np.mean(nothing):.1%} of {len(inks)}"


def test_the_bundled_line_reader_reads_typed_letters_of_faces_it_never_learnt_from_as_nothing():
    """Since it learnt typeset letters too (docs/model.md, "The line reader learns typed letters"),
    the held-out typeset faces' letters (Lato Regular, C059 Roman) are no digit to it either: the
    flag "doubted by both", which typed letters rely on, starts here."""
    from training.detector import VALIDATION_FONTS
    from training.negatives import TYPESET_FONTS, load_glyphs

    glyphs, fonts = load_glyphs()
    typeset = fonts >= len(set(fonts.tolist())) - len(TYPESET_FONTS)
    held_out = glyphs[np.isin(fonts, VALIDATION_FONTS) & typeset]
    reader = get_line_reader()
    inks = [glyph.astype(float) for glyph in held_out]
    nothing = [reader.read(ink, stroke_pixels(ink)).digits == "" for ink in inks]
    assert len(inks) == 96 and np.mean(nothing) >= 0.97, f"{np.mean(nothing):.1%} of {len(inks)}"
