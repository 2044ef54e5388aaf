"""Finding the digits of a number in rendered pictures, read by the bundled networks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from predictor.inference import get_classifier
from predictor.line_reading import LineReading
from predictor.preprocessing import NoDigitFound, open_image, picture_ink, prepare_digit, stroke_pixels, working_side
from predictor.reading import read_number
from predictor.rejection import get_segment_scorer
from predictor.segmentation import (
    MAX_DIGITS,
    UNDERCOUNT_RELIABILITY,
    WRITING_MARGIN,
    find_digits,
    writing,
    writing_box,
)
from predictor.tests import renders
from training.number_pictures import compose, render

#: One sample of each digit from the twenty shipped with the tests.
SAMPLE = renders.one_of_each()


def _score(pixels: np.ndarray) -> tuple[float, float]:
    return get_classifier().predict(pixels=pixels).confidence, get_segment_scorer().score(pixels)


def _read(data: bytes) -> str:
    image, _ = open_image(data, side=None)
    segments = find_digits(picture_ink(image, side=working_side(image.size)), score=_score)
    return "".join(str(get_classifier().predict(pixels=segment.pixels).digit) for segment in segments)


def _number(digits: str, *, spacing: str, seed: int = 0, rendering: str = "scan") -> bytes:
    rng = np.random.default_rng(seed)
    ink, _ = compose([SAMPLE[int(d)] for d in digits], rng=rng, spacing=spacing)
    data, _ = render(ink, rendering=rendering, rng=rng)
    return data


@pytest.mark.parametrize("spacing", ["apart", "close"])
def test_digits_written_apart_are_read_in_order(spacing):
    assert _read(_number("2026", spacing=spacing)) == "2026"


@pytest.mark.parametrize("pair", ["42", "20", "68", "26"])
def test_a_touching_pair_is_cut_in_two(pair):
    data = _number(pair, spacing="touching")
    image, _ = open_image(data, side=None)
    ink = picture_ink(image, side=working_side(image.size))
    _, blobs = ndimage.label(stroke_pixels(ink), structure=np.ones((3, 3)))
    assert blobs == 1  # the two digits really touch
    assert _read(data) == pair
    segments = find_digits(ink, score=_score)
    assert all(segment.cut_out for segment in segments)


def test_digits_written_apart_are_not_cut_out():
    image, _ = open_image(_number("2026", spacing="apart"), side=None)
    segments = find_digits(picture_ink(image, side=working_side(image.size)), score=_score)
    assert len(segments) == 4 and not any(segment.cut_out for segment in segments)


@pytest.mark.parametrize(("digits", "seed", "rendering"), [
    ("2026", 0, "photo"), ("1905", 3, "photo"), ("739", 3, "scan"), ("5408", 0, "scan"),
])
def test_touching_digits_are_parted_where_no_valley_shows_the_gap(digits, seed, rendering):
    """Written close enough to overlap, these digits leave no dip in the ink across the slant where
    they meet; cuts tried at close intervals still find the path between them."""
    assert _read(_number(digits, spacing="touching", seed=seed, rendering=rendering)) == digits


def _broken_five() -> bytes:
    """A "5" whose top bar was written apart from its body, black ink on white."""
    canvas = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(canvas)
    draw.line([(78, 40), (140, 36)], fill=0, width=14)  # the bar, not touching the stem
    draw.line([(70, 58), (66, 100)], fill=0, width=14)  # the stem
    draw.arc((56, 86, 142, 166), start=-120, end=150, fill=0, width=14)  # the bowl
    return renders.encode(canvas)


def test_a_five_whose_bar_was_written_apart_stays_one_digit():
    assert _read(_broken_five()) == "5"


def test_specks_beside_a_number_are_ignored():
    rng = np.random.default_rng(1)
    ink, _ = compose([SAMPLE[3], SAMPLE[7]], rng=rng, spacing="apart")
    clean = _segments_of(ink, seed=2)
    for y, x in [(5, 5), (ink.shape[0] - 8, 20), (10, ink.shape[1] - 9)]:
        ink[y : y + 3, x : x + 3] = 1.0
    dusty = _segments_of(ink, seed=2)
    assert "".join(str(get_classifier().predict(pixels=segment.pixels).digit) for segment in dusty) == "37"
    # None lies inside a digit's box: each digit is read from the picture it was without them (but
    # for a grey level or two: the specks shift the picture's contrast a little).
    assert len(dusty) == len(clean) == 2
    for with_dust, without in zip(dusty, clean):
        assert np.abs(with_dust.pixels.astype(int) - without.pixels).max() <= 6


def test_a_piece_broken_off_a_digit_inside_its_box_is_read_with_it():
    """A speck inside a digit's box is most often a piece of its stroke a scan or a light pen broke
    off: the digit of a number is read with it (a lone digit keeps the strokes `prepare_digit` keeps)."""
    rng = np.random.default_rng(1)
    ink, boxes = compose([SAMPLE[3], SAMPLE[0]], rng=rng, spacing="apart")
    clean = _segments_of(ink, seed=2)
    x, y, width, height = boxes[1]
    inside = (y + height // 2 - 2, x + width // 2 - 2)  # the middle of the "0", inside its loop
    ink[inside[0] : inside[0] + 5, inside[1] : inside[1] + 5] = 1.0
    dotted = _segments_of(ink, seed=2)
    assert len(dotted) == len(clean) == 2
    assert np.abs(dotted[0].pixels.astype(int) - clean[0].pixels).max() <= 6  # the "3" has none in its box
    # The "0" is read with the dot inside its loop: its ring and the dot, where it was the ring alone.
    assert ndimage.label(clean[1].pixels > 100)[1] == 1
    assert ndimage.label(dotted[1].pixels > 100)[1] == 2


def test_a_seven_whose_top_a_scan_broke_off_reads_as_a_seven(mnist_path):
    """A validation number ("70" on squared paper) whose "7" lost the start of its bar to a gap:
    that piece is a speck beside the line's height, and the "7" read without it as "1"."""
    picture = _validation_number(mnist_path, seed=500, index=128)
    assert picture.label == "70"
    assert read_number(data=picture.data).number == "70"


@pytest.mark.parametrize("digits", ["3305", "2345"])
def test_a_thin_one_beside_a_run_of_touching_digits_is_no_speck(digits):
    """A "1" two pixels thin is small beside four digits touching in one blob: measured against that
    blob whole, it was dropped as a speck."""
    rng = np.random.default_rng(0)
    ink, _ = compose([SAMPLE[int(d)] for d in digits], rng=rng, spacing="touching", height=60)
    ink = np.pad(ink, ((0, 0), (40, 0)))
    ink[round(0.2 * ink.shape[0]) : round(0.8 * ink.shape[0]), 15:17] = 1.0
    data, _ = render(ink, rendering="scan", rng=rng)
    assert _read(data) == "1" + digits


def test_a_one_beside_a_zero_is_two_digits():
    assert _read(_number("10", spacing="close", seed=2)) == "10"


def test_a_row_of_eight_digits():
    assert _read(_number("31415926", spacing="apart", seed=4, rendering="white_on_black")) == "31415926"


def test_a_single_digit_reads_exactly_as_prepare_digit_sees_it():
    data = renders.phone_photo(SAMPLE[7])
    image, _ = open_image(data, side=None)
    segments = find_digits(picture_ink(image, side=working_side(image.size)), score=_score)
    assert len(segments) == 1
    np.testing.assert_array_equal(segments[0].pixels, prepare_digit(open_image(data)[0]))


def test_too_many_marks_are_not_a_number():
    rng = np.random.default_rng(5)
    ink, _ = compose([SAMPLE[d % 10] for d in range(MAX_DIGITS + 3)], rng=rng, spacing="apart")
    data, _ = render(ink, rendering="white_on_black", rng=rng)
    with pytest.raises(NoDigitFound):
        read_number(data=data)


def test_boxes_are_in_the_uploaded_pictures_pixels():
    rng = np.random.default_rng(6)
    ink, boxes = compose([SAMPLE[5], SAMPLE[8]], rng=rng, spacing="apart")
    data, scale = render(ink, rendering="photo", rng=rng)  # a JPEG, larger than the ink, decoded reduced
    reading = read_number(data=data)
    assert reading.number == "58"
    for found, (x, y, width, height) in zip((digit.box for digit in reading.digits), boxes):
        expected = np.array([x, y, x + width, y + height]) * scale
        got = np.array([found[0], found[1], found[0] + found[2], found[1] + found[3]])
        assert np.abs(got - expected).max() < 0.1 * height * scale


@pytest.mark.parametrize("rendering", ["lined", "squared"])
def test_numbers_on_ruled_paper(rendering):
    assert _read(_number("87", spacing="apart", seed=1, rendering=rendering)) == "87"


def test_paper_lines_are_taken_out_of_the_ink_and_strokes_are_not():
    from predictor.segmentation import without_ruling

    ink = np.zeros((100, 300))
    ink[40, :] = 70.0  # a line of the paper, across the whole picture
    ink[:, 150] = 70.0  # and one down it
    ink[20:80, 60:66] = 255.0  # a stroke crossing the line
    cleaned = without_ruling(ink)
    assert cleaned[40, 10] == 0 and cleaned[90, 150] == 0
    assert (cleaned[20:80, 60:66] >= 185).all(), "the stroke keeps its ink where it crosses the line"
    assert cleaned.sum() >= 0.95 * ink[20:80, 60:66].sum()


def test_a_pen_stroke_covers_the_paper_line_it_crosses():
    """Where a stroke crosses a line of the paper it keeps all its ink, and its edge, where the pen
    covers the line only in part, its share: until 2026-11-30 the line's ink was taken out of
    the stroke, and a solid stroke on squared paper was left latticed."""
    from predictor.segmentation import without_ruling

    line, pen = 70.0, 255.0
    ink = np.zeros((100, 300))
    ink[40, :] = line  # a line of the paper, across the whole picture
    ink[:, 150] = line  # and one down it
    ink[20:80, 60:66] = pen  # a stroke crossing the first
    ink[20:80, 66] = 0.5 * pen  # its edge: half the pen over bare paper…
    ink[40, 66] = line + 0.5 * (pen - line)  # …and over the line
    cleaned = without_ruling(ink)
    assert cleaned[40, 10] == 0 and cleaned[90, 150] == 0
    assert np.allclose(cleaned[20:80, 60:66], pen), "the stroke keeps its full ink across the line"
    assert np.allclose(cleaned[20:80, 66], 0.5 * pen), "its edge keeps its share, on the line too"


@pytest.mark.parametrize("seed", [1, 3])
@pytest.mark.parametrize("rendering", ["lined", "squared"])
def test_a_blank_page_of_ruled_paper_is_blank(seed, rendering):
    """Nothing written on lined or squared paper: the lines' blur is no pen to tell them from (the
    first way of keeping a pen's ink across the lines read two such squared pages as "1111111"
    and "19977172")."""
    data, _ = render(np.zeros((240, 500)), rendering=rendering, rng=np.random.default_rng(seed))
    with pytest.raises(NoDigitFound, match="blank"):
        read_number(data=data)


#: Runs of white and black in the 161×1 16-bit PNG the fuzz test found (2026-11-28).
THIN_RUNS = [8, 16, 48, 48, 8, 8, 25]


@pytest.mark.parametrize("points", [
    [(50, 50), (2950, 52)],  # a long straight line, once read as an unsure "2"
    [(50 + 40 * i, 50 if i % 2 else 150) for i in range(72)],  # a long zigzag
])
def test_marks_wider_than_a_line_of_twelve_digits_are_no_number(points):
    """Refused before any cut is tried: cutting such a stroke every tenth of its height would cost
    seconds of work for an answer that can only be "no digit"."""
    canvas = Image.new("L", (3000, 200), 255)
    ImageDraw.Draw(canvas).line(points, fill=0, width=8)
    with pytest.raises(NoDigitFound, match="wider than a number"):
        read_number(data=renders.encode(canvas))


@pytest.mark.parametrize("shape", [(1, 161), (161, 1), (2, 161)])
def test_a_picture_a_pixel_or_two_thin_gets_an_answer(shape):
    """Such a picture once sent the cut search into an endless loop: its line is 1 px tall."""
    row = np.repeat(np.arange(len(THIN_RUNS)) % 2 == 0, THIN_RUNS).astype(np.uint16) * 65535
    pixels = np.tile(row, (shape[0], 1)) if shape[0] <= shape[1] else row[:, None]
    picture = Image.fromarray(np.ascontiguousarray(pixels))
    try:
        reading = read_number(data=renders.encode(picture))
    except NoDigitFound:
        return
    assert reading.digits


def _classify(pixels: np.ndarray) -> np.ndarray:
    return np.asarray(get_classifier().predict(pixels=pixels).probabilities)


def _sure_of(digits: str) -> LineReading:
    """What a line reader sure of `digits` answers."""
    probabilities = np.full((len(digits), 10), 0.001)
    probabilities[np.arange(len(digits)), [int(d) for d in digits]] = 0.991
    return LineReading(digits=digits, probabilities=probabilities)


@pytest.mark.parametrize("read", ["42", "421"])
def test_a_blob_of_touching_digits_is_joined_into_as_many_as_the_line_reader_reads(read):
    data = _number("42", spacing="touching")
    image, _ = open_image(data, side=None)
    ink = picture_ink(image, side=working_side(image.size))
    segments = find_digits(ink, score=_score, classify=_classify, read_line=lambda ink, mask: _sure_of(read))
    assert len(segments) == len(read)
    if len(read) > 1:
        assert [int(segment.line_probabilities.argmax()) for segment in segments] == [int(d) for d in read]


def test_a_blob_the_line_reader_undercounts_keeps_its_first_joining():
    """"42" touching, read as one "4": joined as the line reader reads, the run is wider than a digit
    and looks like no one digit, while the first joining's two runs each look like one. Those are
    kept, without the line reader's probabilities (until 2026-11-30 it made one digit of them)."""
    image, _ = open_image(_number("42", spacing="touching"), side=None)
    ink = picture_ink(image, side=working_side(image.size))
    segments = find_digits(ink, score=_score, classify=_classify, read_line=lambda ink, mask: _sure_of("4"))
    assert [get_classifier().predict(pixels=segment.pixels).digit for segment in segments] == [4, 2]
    assert all(segment.line_probabilities is None for segment in segments)
    assert [segment.reliability for segment in segments] == [UNDERCOUNT_RELIABILITY] * 2  # the readers disagree


@pytest.mark.parametrize(("seed", "index", "truth"), [(100, 147, "8206"), (107, 377, "630785")])
def test_touching_digits_the_line_readers_read_as_one_stay_two(mnist_path, seed, index, truth):
    """Validation numbers whose "82" and "30" the line readers voting read as one "8" and one "3"
    (read "806" and "63785"), read right and flagged unsure: the readers disagree."""
    picture = _validation_number(mnist_path, seed=seed, index=index, spacings=("touching",))
    assert picture.label == truth
    reading = read_number(data=picture.data)
    assert reading.number == truth and reading.uncertain


def test_a_digit_cut_out_of_touching_ink_is_doubted_not_dropped(mnist_path):
    """A validation number whose last "8", cut from the "2" it touches, the detector refuses as no
    digit (0.011 against its threshold 0.017): it was left out (read "2482"); now it is read, and
    the reading flagged unsure."""
    picture = _validation_number(mnist_path, seed=7, index=497)
    assert picture.label == "24828"
    reading = read_number(data=picture.data)
    assert reading.number == "24828" and reading.uncertain and reading.digits[-1].uncertain


def test_the_line_reader_is_asked_about_one_blob_at_a_time():
    """Digits written apart are each a blob of their own: a wide one may be asked about (it was
    cut), never two together, and a blob read as one digit stays one."""
    asked = []
    image, _ = open_image(_number("2026", spacing="apart"), side=None)
    segments = find_digits(picture_ink(image, side=working_side(image.size)), score=_score, classify=_classify,
                           read_line=lambda ink, mask: asked.append(mask) or _sure_of("7"))
    assert all(ndimage.label(mask, structure=np.ones((3, 3)))[1] == 1 for mask in asked)
    assert len(segments) == 4


def _nothing_for_blobs_holding(mark: np.ndarray):
    """A line reader that reads nothing in a blob overlapping `mark`, and a sure "7" elsewhere."""
    return lambda ink, mask: LineReading(digits="", probabilities=np.zeros((0, 10))) if (mask & mark).any() \
        else _sure_of("7")


def test_a_mark_whose_blobs_the_line_reader_reads_as_nothing_says_so():
    image, _ = open_image(_number("2026", spacing="apart"), side=None)
    ink = picture_ink(image, side=working_side(image.size))
    labels, _ = ndimage.label(ink > 0.5 * ink.max(), structure=np.ones((3, 3)))
    leftmost = labels == labels[:, np.flatnonzero((labels > 0).any(0))[0]].max()
    segments = find_digits(ink, score=_score, classify=_classify, read_line=_nothing_for_blobs_holding(leftmost))
    assert [segment.line_reads_nothing for segment in segments] == [True, False, False, False]


def test_a_lone_mark_read_as_nothing_says_so_and_without_a_line_reader_nothing_is_said():
    image, _ = open_image(_number("8", spacing="apart"), side=None)
    ink = picture_ink(image, side=working_side(image.size))
    (alone,) = find_digits(ink, score=_score, classify=_classify,
                           read_line=lambda ink, mask: LineReading(digits="", probabilities=np.zeros((0, 10))))
    assert alone.line_reads_nothing
    (unread,) = find_digits(ink, score=_score)
    assert not unread.line_reads_nothing


def _validation_number(mnist_path, *, seed: int, index: int, **options):
    """The `index`-th picture `bench/read_numbers.py --split validation` writes with `seed`."""
    from training.mnist import load_mnist
    from training.number_pictures import number_pictures

    mnist = load_mnist(path=mnist_path)
    pictures = number_pictures(mnist.x_train[-5000:], mnist.y_train[-5000:], count=index + 1, seed=seed, **options)
    return list(pictures)[index]


@pytest.mark.parametrize(("seed", "index", "truth"), [(0, 142, "9400"), (0, 269, "449930")])
def test_digits_that_share_a_stroke_are_read_as_the_line_reader_reads_them(mnist_path, seed, index, truth):
    """Validation numbers of touching digits where two zeros (or a "3" and a "0") share a stroke:
    no chain of the cut pieces gives as many whole-looking digits as the line reader reads, until
    the shape rules for short runs are set aside (first read as nothing, and as "430")."""
    picture = _validation_number(mnist_path, seed=seed, index=index)
    assert picture.label == truth and picture.spacing == "touching"
    assert read_number(data=picture.data).number == truth


@pytest.mark.parametrize(("seed", "index", "spacing", "truth"),
                         [(0, 210, None, "62312"), (100, 220, "touching", "5182")])
def test_a_digit_joined_with_the_next_blob_is_given_back_as_the_line_reader_reads_both(
        mnist_path, seed, index, spacing, truth):
    """Validation numbers of touching digits where the joining gave a "1" cut from the end of one
    blob to the next blob's digit (read "622" and "582"): the two blobs are joined anew together,
    into as many digits as the line reader reads in both."""
    options = {"spacings": (spacing,)} if spacing else {}
    picture = _validation_number(mnist_path, seed=seed, index=index, **options)
    assert picture.label == truth
    assert read_number(data=picture.data).number == truth


def test_a_five_whose_bar_was_written_apart_stays_one_digit_when_read_whole():
    """The joining makes one "5" of the bar and the body; the line reader reads neither blob as
    several digits, so they are not joined anew, even by a line reader that would read the two
    together as two digits."""
    image, _ = open_image(_broken_five(), side=None)
    ink = picture_ink(image, side=working_side(image.size))
    labels, _ = ndimage.label(stroke_pixels(ink), structure=np.ones((3, 3)))
    bar = labels == labels[np.flatnonzero((labels > 0).any(1))[0]].max()

    def read_line(ink: np.ndarray, mask: np.ndarray) -> LineReading:
        holds_bar, holds_body = (mask & bar).any(), (mask & ~bar).any()
        return _sure_of("57" if holds_bar and holds_body else "7" if holds_bar else "5")

    (five,) = find_digits(ink, score=_score, classify=_classify, read_line=read_line)
    assert get_classifier().predict(pixels=five.pixels).digit == 5


@pytest.mark.parametrize(("seed", "index", "truth"), [(100, 290, "11305"), (100, 219, "19697")])
def test_a_one_apart_from_touching_digits_is_read(mnist_path, seed, index, truth):
    """Validation numbers whose first "1", apart from the rest touching in one blob, was dropped as a
    speck (read "1305" and "9697")."""
    picture = _validation_number(mnist_path, seed=seed, index=index, spacings=("touching",))
    assert picture.label == truth
    assert read_number(data=picture.data).number == truth


@pytest.mark.parametrize(("seed", "index", "spacing", "truth"),
                         [(0, 13, None, "5120"), (100, 174, "touching", "821")])
def test_touching_digits_are_read_as_the_line_readers_vote(mnist_path, seed, index, spacing, truth):
    """Validation numbers the bundled seed-2 line reader alone reads as "5720" and "21"; the three
    line readers voting read them right."""
    options = {"spacings": (spacing,)} if spacing else {}
    picture = _validation_number(mnist_path, seed=seed, index=index, **options)
    assert picture.label == truth
    assert read_number(data=picture.data).number == truth


def _segments_of(ink: np.ndarray, *, rendering: str = "scan", seed: int = 0):
    data, _ = render(ink, rendering=rendering, rng=np.random.default_rng(seed))
    image, _ = open_image(data, side=None)
    return find_digits(picture_ink(image, side=working_side(image.size)), score=_score)


@pytest.mark.parametrize(("sign", "rendering"), [(".", "scan"), (".", "photo"), (":", "lined"), (".", "canvas")])
def test_a_point_between_digits_is_a_sign_not_dust(sign, rendering):
    segments = _segments_of(renders.number_with_sign("1250", after=1, sign=sign)[1], rendering=rendering)
    dots = 2 if sign == ":" else 1
    assert [segment.is_digit for segment in segments] == [True, True] + [False] * dots + [True, True]
    before, after = segments[1].box, segments[2 + dots].box
    for sign_segment in segments[2 : 2 + dots]:
        assert before[0] + before[2] <= sign_segment.box[0] and sign_segment.box[0] + sign_segment.box[2] <= after[0]
    digits = [segment for segment in segments if segment.is_digit]
    assert "".join(str(get_classifier().predict(pixels=s.pixels).digit) for s in digits) == "1250"


def test_dust_and_wisps_between_digits_are_no_sign():
    """Specks thinner than the strokes (dust, a hair-thin wisp) lie between the digits too."""
    rng = np.random.default_rng(1)
    ink, boxes = compose([SAMPLE[3], SAMPLE[7]], rng=rng, spacing="apart")
    gap_left, gap_right = boxes[0][0] + boxes[0][2], boxes[1][0]
    ink = np.concatenate([ink[:, :gap_left], np.zeros((ink.shape[0], 40)), ink[:, gap_left:]], axis=1)
    baseline = boxes[0][1] + boxes[0][3]
    ink[baseline - 4 : baseline - 1, gap_left + 8 : gap_left + 11] = 1.0  # dust
    ink[baseline - 30 : baseline - 12, gap_left + 25 : gap_left + 27] = 1.0  # a wisp, 2 px wide
    assert gap_right > gap_left
    segments = _segments_of(ink)
    assert [segment.is_digit for segment in segments] == [True, True]


def test_writing_in_a_small_part_of_the_picture_gets_a_box_with_a_margin():
    ink, _ = compose([SAMPLE[4], SAMPLE[2]], rng=np.random.default_rng(0), spacing="apart", height=20)
    page = np.zeros((190, 250))
    page[120 : 120 + ink.shape[0], 40 : 40 + ink.shape[1]] = ink * 255
    left, top, right, bottom = writing_box(writing(page))
    rows, cols = np.flatnonzero(page.max(1) > 128), np.flatnonzero(page.max(0) > 128)
    margin = WRITING_MARGIN * (cols[-1] - cols[0])
    assert left <= cols[0] - margin + 1 and right >= cols[-1] + margin - 1
    assert top <= rows[0] - margin + 1 and bottom >= rows[-1] + margin - 1
    assert right - left < 0.5 * page.shape[1]


def test_writing_that_fills_the_picture_gets_no_box():
    ink, _ = compose([SAMPLE[4], SAMPLE[2]], rng=np.random.default_rng(0), spacing="apart")
    assert writing_box(writing(ink * 255)) is None


def test_a_blank_picture_has_no_writing_to_box():
    """Refused before any box is looked for, as `find_digits` refuses it."""
    ink, _ = compose([SAMPLE[4], SAMPLE[2]], rng=np.random.default_rng(0), spacing="apart")
    with pytest.raises(NoDigitFound, match="blank"):
        writing(np.zeros_like(ink))


def _semeion_way_number(mnist_path, *, seed: int, index: int, **options):
    """The `index`-th Semeion-style number `bench/read_numbers.py --split validation` writes with
    `seed`: validation digits stretched to 16×16, thresholded and made 28×28 as Semeion's are."""
    from training.mnist import load_mnist
    from training.number_pictures import number_pictures
    from training.scans import mnist_style, scanned_16

    mnist = load_mnist(path=mnist_path)
    digits = np.array([mnist_style(scanned_16(image, stretch=True, threshold=127)) for image in mnist.x_train[-5000:]])
    return list(number_pictures(digits, mnist.y_train[-5000:], count=index + 1, seed=seed, **options))[index]


def test_a_digit_a_scan_broke_in_two_is_read_as_one(mnist_path):
    """A Semeion-style validation number whose first "4" the thresholding broke into two strokes,
    each read with confidence, as "6" and "1" (read "61450"); the line reader reads them together
    as one "4"."""
    picture = _semeion_way_number(mnist_path, seed=1, index=25)
    assert picture.label == "4450"
    assert read_number(data=picture.data).number == "4450"


def test_two_blobs_are_joined_only_when_the_line_reader_reads_them_together_as_one_digit(mnist_path):
    """The same picture with a line reader that reads any two blobs together as two digits: the
    broken "4" stays the two digits the classifier reads."""
    from predictor.line_reading import get_line_reader

    picture = _semeion_way_number(mnist_path, seed=1, index=25)
    image, _ = open_image(picture.data, side=None)
    ink = picture_ink(image, side=working_side(image.size))
    bundled = get_line_reader().read

    def two_apart(ink, mask):
        return _sure_of("11") if ndimage.label(mask, structure=np.ones((3, 3)))[1] == 2 else bundled(ink, mask)

    def digits(read_line):
        segments = find_digits(ink, score=_score, classify=_classify, read_line=read_line)
        return "".join(str(get_classifier().predict(pixels=segment.pixels).digit) for segment in segments)

    assert digits(bundled) == "4450"
    assert digits(two_apart) == "61450"


def _with_a_flourish(rendering: str) -> bytes:
    """"724" written apart, the "2" ending in a long flourish that reaches towards the "4": the
    "2" and its flourish are wider than any digit, and the flourish's pieces shorter than one."""
    rng = np.random.default_rng(0)
    ink, boxes = compose([SAMPLE[7], SAMPLE[2], SAMPLE[4]], rng=rng, spacing="apart")
    x, y, width, height = boxes[1]
    gap = boxes[2][0] - 4
    ink = np.concatenate([ink[:, :gap], np.zeros((ink.shape[0], 110)), ink[:, gap:]], axis=1)
    picture = Image.fromarray((ink * 255).astype(np.uint8))
    ImageDraw.Draw(picture).line([(x + width - 6, y + height - 5), (gap + 95, y + height - 22)], fill=255, width=6)
    data, _ = render(np.asarray(picture) / 255.0, rendering=rendering, rng=rng)
    return data


@pytest.mark.parametrize("rendering", ["scan", "photo", "canvas"])
def test_a_flourish_no_digit_can_hold_is_left_out_not_the_whole_number(rendering):
    """Where no chain of pieces keeps to the shapes of digits, the pieces that cannot be one are
    read as marks and left out: the number was refused whole as one mark until 2026-11-30 (a
    validation "757524" whose "2" ended in such a flourish was "No digit found")."""
    reading = read_number(data=_with_a_flourish(rendering))
    assert reading.number == "724"
    assert reading.uncertain  # a mark was left out


def test_blobs_that_together_look_like_no_digit_are_not_joined(mnist_path):
    """A Semeion-style validation "51", its "1" stretched into a slab close to the "5": the line
    reader reads the two blobs together as one digit, but together they look like no one digit (the
    segment scorer: 0.000, against 0.98 and 0.08 apart). Joined, the mark was refused and the
    number with it ("No digit found")."""
    picture = _semeion_way_number(mnist_path, seed=501, index=177)
    assert picture.label == "51"
    assert read_number(data=picture.data).number == "51"


def test_a_solid_stroke_on_squared_paper_reads_as_written(mnist_path):
    """A Semeion-style validation "17" on squared paper, touching, its "1" stretched into a slab:
    with the paper's grid taken out of the slab too, it was read as an "8" ("87")."""
    picture = _semeion_way_number(mnist_path, seed=504, index=44, spacings=("touching",))
    assert (picture.label, picture.rendering) == ("17", "squared")
    assert read_number(data=picture.data).number == "17"
