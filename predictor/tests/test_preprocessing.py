"""Preprocessing turns every kind of real picture into an MNIST-like 28×28 digit."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from predictor.preprocessing import (
    NARROWED_WIDTHS,
    ImageLimits,
    ImageRejected,
    NoDigitFound,
    WORKING_SIDE,
    _already_mnist_format,
    _background,
    _byte_histogram,
    _digit_mask,
    _dilate_by_cross,
    _erode_by_cross,
    _gray,
    _ink,
    _percentiles,
    _smoothness,
    _without_opaque_alpha,
    narrowed_pictures,
    open_image,
    picture_ink,
    prepare_digit,
    preprocess,
)
from predictor.tests import renders

DIGITS, LABELS = renders.mnist_samples()


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pixel correlation, allowing a one-pixel shift (centring rounds to whole pixels)."""
    return max(
        float(np.corrcoef(np.roll(a, (dy, dx), axis=(0, 1)).astype(float).ravel(), b.astype(float).ravel())[0, 1])
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )


def assert_mnist_like(pixels: np.ndarray) -> None:
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8
    assert pixels.max() >= 250, "strokes are saturated white, as in MNIST"
    assert pixels[0].max() == 0 or pixels[:, 0].max() == 0, "background is black"
    rows, cols = np.flatnonzero(pixels.max(1) > 0), np.flatnonzero(pixels.max(0) > 0)
    longest = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    assert 19 <= longest <= 22, f"digit box is about 20 px (got {longest})"
    com_y, com_x = ndimage.center_of_mass(pixels.astype(float))
    assert abs(com_y - 14) <= 1.0 and abs(com_x - 14) <= 1.0, f"centre of mass {com_y:.1f},{com_x:.1f}"


@pytest.mark.parametrize("index", range(len(DIGITS)))
def test_mnist_digit_is_left_unchanged(index):
    digit = DIGITS[index]
    assert np.array_equal(preprocess(renders.encode(Image.fromarray(digit))), digit)


def test_almost_every_mnist_digit_takes_the_already_prepared_path(mnist_path):
    from training.mnist import load_mnist

    images = load_mnist(path=mnist_path).x_test[:2000]
    ready = [_already_mnist_format(Image.fromarray(image)) for image in images]
    assert sum(pixels is not None for pixels in ready) >= 0.98 * len(images)
    assert all(np.array_equal(pixels, image) for pixels, image in zip(ready, images) if pixels is not None)


def test_prepared_looking_input_is_still_checked_for_noise():
    rng = np.random.default_rng(0)
    field = np.zeros((28, 28), dtype=np.uint8)
    field[4:24, 4:24] = rng.integers(0, 256, (20, 20))
    field[4, 4] = field[23, 23] = 255
    assert _already_mnist_format(Image.fromarray(field)) is not None, "the fast path's checks let it in"
    with pytest.raises(NoDigitFound):
        preprocess(renders.encode(Image.fromarray(field)))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: np.roll(d, 3, axis=1),  # off-centre
        lambda d: np.asarray(Image.fromarray(d).resize((14, 14))).repeat(1, 0)[:14],  # too small
        lambda d: np.where(d > 128, 255, 0).astype(np.uint8),  # hard-edged
        lambda d: (d // 3).astype(np.uint8),  # faint
    ],
    ids=["off-centre", "small", "hard-edged", "faint"],
)
def test_28_by_28_input_not_in_mnist_format_is_prepared(change):
    digit = DIGITS[0]
    altered = change(digit)
    field = np.zeros((28, 28), dtype=np.uint8)
    field[: altered.shape[0], : altered.shape[1]] = altered
    if altered.shape != (28, 28):
        field = np.roll(field, (7, 7), axis=(0, 1))
    assert _already_mnist_format(Image.fromarray(field)) is None
    assert_mnist_like(preprocess(renders.encode(Image.fromarray(field))))


RENDERS = {
    "phone photo": renders.phone_photo,
    "scan": renders.scan,
    "transparent canvas": renders.transparent_canvas,
    "draw pad": renders.draw_pad,
    "screenshot": renders.screenshot,
    "scan with specks": renders.with_specks,
}


@pytest.mark.parametrize("kind", RENDERS)
@pytest.mark.parametrize("index", [0, 5, 11, 18])
def test_each_kind_of_picture_becomes_the_mnist_digit(kind, index):
    pixels = preprocess(RENDERS[kind](DIGITS[index]))
    assert_mnist_like(pixels)
    assert correlation(pixels, DIGITS[index]) > 0.85


@pytest.mark.parametrize("index", [0, 5, 11, 18])
def test_small_fine_pen_digit_on_an_unevenly_lit_photo_is_read(index):
    """120 px tall, a 3 px pen, on a 1000×1000 photo darker on one side than the other: the ink
    is about 0.1 % of the picture, and the shaded paper is as dark as the ink's threshold."""
    from predictor.inference import get_classifier

    photo = renders.phone_photo(DIGITS[index], seed=index, size=(1000, 1000), digit_height=120, pen_width=3)
    pixels = preprocess(photo)
    assert_mnist_like(pixels)
    assert get_classifier().predict(pixels=pixels).digit == LABELS[index]


def test_a_solid_mark_on_shaded_paper_keeps_its_middle():
    """A mark of solid ink wider than a pen's stroke (a "1" a scanner stretched into a block, as in
    Semeion's and USPS's digits) stays solid: the local background floor is not taken from inside
    it, which hollowed it into a ring that read as "0" or "8". The paper's shading still goes."""
    height, width = 300, 400
    light = np.linspace(0.6, 1.05, width)[None, :] * np.ones((height, 1))
    gray = 232.0 * light
    gray[60:240, 150:260] = 40.0 * light[60:240, 150:260]  # the mark, 110 px wide
    ink = _ink(np.clip(gray, 0, 255).astype(np.uint8))
    assert ink[150, 205] > 0.8 * ink.max()  # its middle
    assert ink[150, 153] > 0.6 * ink.max()  # just inside its edge
    assert ink[5, 5] < 0.05 * ink.max() and ink[5, 395] < 0.05 * ink.max()  # paper, dark and bright


def test_exif_orientation_is_applied():
    upright = preprocess(renders.phone_photo(DIGITS[3]))
    for orientation in (3, 6, 8):
        turned = preprocess(renders.phone_photo(DIGITS[3], exif_orientation=orientation))
        assert correlation(turned, upright) > 0.95, f"orientation {orientation}"


def test_transparent_canvas_works_with_light_strokes_too():
    dark = preprocess(renders.transparent_canvas(DIGITS[7], stroke=(0, 0, 0)))
    light = preprocess(renders.transparent_canvas(DIGITS[7], stroke=(255, 255, 255)))
    assert correlation(dark, light) > 0.99


def test_a_large_sixteen_bit_picture_keeps_its_grey_levels_when_shrunk():
    """Shrunk through RGB, every level above 255 of 65,535 was clipped: strokes came out bloated."""
    ink = renders._ink_on_canvas(DIGITS[3], canvas=(400, 400), digit_height=260, at=(0.5, 0.5))
    deep = Image.fromarray((ink * 60000).astype(np.int32)).convert("I;16")
    eight_bit = Image.fromarray(np.round(ink * 255).astype(np.uint8))
    assert correlation(prepare_digit(deep), prepare_digit(eight_bit)) > 0.98


def test_an_alpha_channel_with_nothing_transparent_is_dropped_first():
    opaque = Image.open(io.BytesIO(renders.draw_pad(DIGITS[4])))
    assert opaque.mode == "RGBA"
    dropped = _without_opaque_alpha(opaque)
    assert dropped.mode == "RGB"
    assert np.array_equal(np.asarray(dropped), np.asarray(opaque)[..., :3])
    np.testing.assert_array_equal(prepare_digit(opaque), prepare_digit(opaque.convert("RGB")))
    nearly = np.asarray(opaque).copy()
    nearly[:5, :, 3] = 254
    assert _without_opaque_alpha(Image.fromarray(nearly, "RGBA")).mode == "RGBA"
    grey_and_alpha = opaque.convert("LA")
    assert _without_opaque_alpha(grey_and_alpha).mode == "L"


def test_a_large_colour_picture_is_made_grey_before_it_is_shrunk():
    """One channel to resample instead of three; the grey levels differ from shrinking in colour
    by rounding only."""
    photo = Image.open(io.BytesIO(renders.phone_photo(DIGITS[6], size=(600, 450)))).convert("RGB")
    width, height = round(450 * WORKING_SIDE / 600), WORKING_SIDE
    grey_first = np.asarray(photo.convert("L").resize((width, height), Image.Resampling.BOX))
    np.testing.assert_array_equal(_gray(photo), grey_first)
    colour_first = np.asarray(photo.resize((width, height), Image.Resampling.BOX).convert("L"))
    assert np.abs(grey_first.astype(int) - colour_first).max() <= 2


def test_specks_are_ignored():
    clean = preprocess(renders.scan(DIGITS[9]))
    dusty = preprocess(renders.with_specks(DIGITS[9]))
    assert correlation(clean, dusty) > 0.95


def test_thin_pen_strokes_on_a_large_picture_stay_visible():
    canvas = np.full((800, 800), 250, dtype=np.uint8)
    canvas[150:650, 398:402] = 20  # a "1" drawn with a fine pen: 4 px wide, 500 px tall
    pixels = preprocess(renders.encode(Image.fromarray(canvas)))
    assert_mnist_like(pixels)
    assert (pixels > 128).sum() >= 20 * 2, "the stroke is about as wide as an MNIST stroke"


def test_binary_low_resolution_scan_gets_soft_edges():
    digit = (DIGITS[2] > 100).astype(np.uint8) * 255
    small = Image.fromarray(digit).resize((16, 16), Image.Resampling.NEAREST)
    pixels = preprocess(renders.encode(small))
    assert_mnist_like(pixels)
    grey = ((pixels > 20) & (pixels < 230)).sum()
    assert grey >= 0.2 * (pixels > 20).sum(), "edges are anti-aliased like MNIST's"


def test_large_colour_jpeg_is_decoded_grey_at_a_reduced_scale():
    photo = Image.open(__import__("io").BytesIO(renders.phone_photo(DIGITS[4], size=(2000, 1500), digit_height=900)))
    image, image_format = open_image(renders.encode(photo, "JPEG", quality=90))
    assert image_format == "JPEG" and image.mode == "L"
    assert max(image.size) < 2000 / 2, "decoded at JPEG's 1/4 (or smaller) scale, not in full"
    assert max(image.size) >= WORKING_SIDE
    assert LABELS[4] == 4 and correlation(prepare_digit(image), DIGITS[4]) > 0.8


def test_sixteen_bit_and_palette_pictures_are_read():
    digit = DIGITS[4]
    sixteen = Image.fromarray(digit.astype(np.uint16) * 257)
    palette = Image.fromarray(digit).convert("P")
    for image in (sixteen, palette):
        assert correlation(preprocess(renders.encode(image)), digit) > 0.95


def test_cmyk_jpeg_is_read():
    photo = Image.open(__import__("io").BytesIO(renders.phone_photo(DIGITS[6]))).convert("CMYK")
    assert_mnist_like(preprocess(renders.encode(photo, "JPEG")))


@pytest.mark.parametrize("data", [renders.blank_page(), renders.blank_page(seed=3)], ids=["page", "page2"])
def test_blank_page_has_no_digit(data):
    with pytest.raises(NoDigitFound):
        preprocess(data)


@pytest.mark.parametrize("size", [28, 100, 400])
def test_noise_has_no_digit(size):
    with pytest.raises(NoDigitFound):
        preprocess(renders.noise(size=size))


@pytest.mark.parametrize("digit", sorted(renders.THIN_PEN_DIGITS))
def test_a_digit_drawn_with_a_one_pixel_pen_in_a_small_picture_is_not_noise(digit):
    """Its pixels are as rough as noise (lag-1 smoothness under the noise bound); its strokes are
    line-like: one part, no lone pixel, no more holes than a digit has."""
    assert_mnist_like(preprocess(renders.thin_pen(digit)))


@pytest.mark.parametrize("size", [8, 10, 12, 14, 16, 20, 28, 40, 64])
@pytest.mark.parametrize("density", [0.03, 0.1, 0.2, 0.3, 0.45, 0.55])
def test_thresholded_noise_of_any_size_and_density_has_no_digit(size, density):
    """The line-like check that lets thin strokes through keeps refusing random pixels."""
    for seed in range(5):
        with pytest.raises(NoDigitFound):
            preprocess(renders.binary_noise(size=size, density=density, seed=seed))


def test_a_digit_stretched_to_fill_its_frame_is_also_read_narrowed():
    narrowed = narrowed_pictures(Image.open(io.BytesIO(renders.stretched_scan(DIGITS[0]))))
    assert [picture.size for picture in narrowed] == [(round(16 * share), 16) for share in NARROWED_WIDTHS]


@pytest.mark.parametrize("dark_on_light", [False, True], ids=["white-on-black", "black-on-white"])
def test_a_bold_digit_filling_a_small_scan_keeps_its_polarity(dark_on_light):
    """Written with a felt pen and stretched to fill a 16×16 scan, a digit covers more of the picture
    than its background does; the picture's edge, mostly background, still tells which is ink."""
    for digit in renders.one_of_each().values():
        scan = np.asarray(Image.open(io.BytesIO(renders.stretched_scan(digit, bold=True))))
        ink = picture_ink(Image.fromarray(255 - scan if dark_on_light else scan))
        assert ink[scan == 255].mean() > ink[scan == 0].mean() + 100


@pytest.mark.parametrize("digit", range(10))
def test_a_bold_digit_filling_a_small_scan_is_no_texture(digit):
    """Up to 0.8 of such a scan is ink (docs/model.md, "Bold scans"): a digit, not a texture."""
    assert_mnist_like(preprocess(renders.stretched_scan(renders.one_of_each()[digit], bold=True)))


@pytest.mark.parametrize("render", [
    lambda digit: renders.encode(Image.fromarray(digit)),  # MNIST's own format: a border all round
    lambda digit: renders.encode(Image.fromarray(digit).resize((16, 16))),  # shrunk, border kept
    renders.phone_photo,
], ids=["mnist", "small", "photo"])
def test_a_digit_with_room_around_it_is_not_read_narrowed(render):
    assert narrowed_pictures(open_image(render(DIGITS[0]))[0]) == []


def test_uniform_picture_has_no_digit():
    with pytest.raises(NoDigitFound):
        preprocess(renders.encode(Image.new("L", (1, 1), 255)))


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, not a picture", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", b"%PDF-1.4\n"],
    ids=["empty", "text", "svg", "pdf"],
)
def test_non_pictures_are_rejected(data):
    with pytest.raises(ImageRejected) as excinfo:
        preprocess(data)
    assert not isinstance(excinfo.value, NoDigitFound)


def test_truncated_picture_is_rejected():
    data = renders.phone_photo(DIGITS[0])
    with pytest.raises(ImageRejected, match="damaged or truncated"):
        preprocess(data[: len(data) // 2])


def test_pixel_limit_is_checked_before_decoding():
    huge = renders.encode(Image.new("L", (5000, 5000)), optimize=True)
    with pytest.raises(ImageRejected, match="too large"):
        open_image(huge, limits=ImageLimits(max_pixels=10_000_000))


# The fast helpers below replace plain numpy calls on the serving path; they must give the same
# figures, or preprocessing would drift from what the model was measured with.


@pytest.mark.parametrize("size", [1, 2, 3, 784, 62_500, 750_000])
def test_byte_percentiles_are_numpys(size):
    rng = np.random.default_rng(size)
    for values in (rng.integers(0, 256, size).astype(np.uint8),
                   np.clip(rng.normal(200, 30, size), 0, 255).astype(np.uint8)):
        for percents in [(0.01, 99.99), (95,), (50,), (0, 100), (33.3, 66.7)]:
            expected = [float(v) for v in np.percentile(values, percents)]
            assert _percentiles(values, percents) == expected
            counted = np.cumsum(np.bincount(values, minlength=256))
            assert _percentiles(values, percents, counted=counted) == expected
    floats = rng.random(size) * 255
    for percents in [(0.01, 99.99), (95,), (0, 100)]:
        assert _percentiles(floats, percents) == [float(v) for v in np.percentile(floats, percents)]


@pytest.mark.parametrize("render", [renders.phone_photo, renders.scan, renders.transparent_canvas, renders.screenshot])
def test_ink_is_the_plain_numpy_computation(render):
    """`_ink` reads percentiles and the share of light pixels off one histogram; the figures are
    those of the straightforward computation."""
    gray = _gray(open_image(render(DIGITS[2]))[0].resize((250, 250)))
    low, high = np.percentile(gray, (0.01, 99.99))
    middle = (low + high) / 2.0
    ring = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    light = ((ring > middle).mean() + (gray > middle).mean()) / 2.0 > 0.5
    ink = 255.0 - gray if light else gray.astype(np.float64)
    expected = np.clip(ink - _background(ink).astype(np.float64), 0.0, None)
    np.testing.assert_array_equal(_ink(gray), expected)


def test_cross_dilation_and_erosion_are_scipys():
    rng = np.random.default_rng(7)
    for _ in range(300):
        mask = rng.random(tuple(rng.integers(1, 30, 2))) > rng.random()
        np.testing.assert_array_equal(_dilate_by_cross(mask), ndimage.binary_dilation(mask))
        twice = ndimage.binary_dilation(mask, iterations=2)
        np.testing.assert_array_equal(_dilate_by_cross(_dilate_by_cross(mask)), twice)
        np.testing.assert_array_equal(_erode_by_cross(mask), ndimage.binary_erosion(mask))


def test_byte_histogram_counts_like_bincount():
    values = np.random.default_rng(0).integers(0, 256, (250, 187)).astype(np.uint8)
    for part in (values, values[::3, 1::2], values[:28, :28], values[0]):
        assert _byte_histogram(part).tolist() == np.bincount(part.ravel(), minlength=256).tolist()


@pytest.mark.parametrize("shape", [(250, 250), (250, 1), (1, 250), (31, 17)])
def test_smoothness_is_the_lag_one_autocorrelation(shape):
    ink = ndimage.gaussian_filter(np.random.default_rng(1).random(shape), 1.5) * 255
    centred = ink - ink.mean()
    energy = (centred * centred).sum()
    expected = ((centred[:, 1:] * centred[:, :-1]).sum() + (centred[1:] * centred[:-1]).sum()) / (2 * energy)
    assert _smoothness(ink) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_digit_mask_labels_only_the_strokes_box_but_keeps_every_part():
    """Labelling the box around the strokes finds the same parts as labelling the whole picture."""
    ink = _ink(np.asarray(open_image(renders.with_specks(DIGITS[3], seed=2))[0]))  # grey, 300×300
    mask = _digit_mask(ink)
    strokes = ink > ink[mask].min() - 1e-9  # the threshold the mask was cut at
    labels, _ = ndimage.label(strokes, structure=np.ones((3, 3)))
    areas = np.bincount(labels.ravel())
    whole_picture = np.isin(labels, np.flatnonzero(areas >= 0.08 * areas[1:].max())) & (labels > 0)
    assert mask.shape == ink.shape and mask.any()
    np.testing.assert_array_equal(mask, whole_picture)
    assert not mask[:60].any(), "the specks above the digit are dropped"
