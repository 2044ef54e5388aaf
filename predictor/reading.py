"""Reading a number: decode, find the digits, classify each, refuse non-digits, sign tokens.

A picture of one digit reads as it always has: one digit, its token as before. A picture of a
number gives each digit (left to right) with its box in the uploaded picture, its own feedback
token (carrying a small crop of the picture around it), and a token for the whole reading that
feedback with the whole number as its label comes back with. Views (HTML and JSON) are thin
wrappers around `read_number`.
"""

from __future__ import annotations

import io
import logging
import math
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace

import numpy as np
from django.conf import settings
from PIL import Image

from predictor.inference import Prediction, get_classifier
from predictor.line_reading import get_line_reader
from predictor.preprocessing import (
    MNIST_SIDE,
    UPLOAD_SCALE,
    ImageLimits,
    NoDigitFound,
    narrowed_pictures,
    open_image,
    picture_ink,
    prepare_digit,
    working_side,
)
from predictor.rejection import NOT_A_DIGIT, get_detector, get_segment_scorer
from predictor.segmentation import (
    Classify,
    DigitSegment,
    ReadLine,
    Scorer,
    Writing,
    find_digits,
    writing,
    writing_box,
)
from predictor.services import store_original
from predictor.tokens import ReadDigit, make_feedback_token, make_reading_token

logger = logging.getLogger(__name__)

#: Pictures this small (both sides) hold one digit: MNIST's 28×28, USPS's and Semeion's 16×16.
SINGLE_DIGIT_SIDE = 2 * MNIST_SIDE
#: A number is refused as "no digit" when more than this share of its marks are not digits.
MAX_NON_DIGIT_SHARE = 0.5
#: A digit's crop in its feedback token is at most this many pixels on its longer side.
CROP_SIDE = 64
#: A digit cut out of ink it touches may have been parted in the wrong place, which its classifier
#: confidence cannot know: that confidence is multiplied by this. Fitted on numbers written from
#: validation digits, by likelihood (docs/model.md, "Confidence of cut-out digits").
CUT_OUT_RELIABILITY = 0.96
#: A digit of a blob the line reader read whole has the classifier's and the line reader's
#: probabilities weighed together; that confidence is multiplied by this (and not lowered by the
#: detector's doubt, which still flags it unsure). Fitted the same way (docs/model.md, "The line reader").
LINE_READ_RELIABILITY = 0.98
#: A mark whose blobs the line reader reads as no digit at all (it learnt letters and doodles as
#: nothing) is flagged unsure when the detector is less sure than this that it is a digit; its
#: confidence is left as it is (lowering it made validation numbers' calibration worse). Chosen on
#: validation (docs/model.md, "Two readers, one verdict").
DOUBTED_BY_BOTH_BELOW = 0.9
#: A lone digit stretched to fill its frame is read as it is and narrowed (`preprocessing.NARROWED_WIDTHS`);
#: each narrowed reading's confidence is multiplied by its share here, both when the readings are
#: compared and in the answer: one of three readings chosen is less sure than its classifier says.
#: Fitted on validation digits made stretched scans, by likelihood (docs/model.md, "Stretched scans").
NARROWED_RELIABILITY = (0.97, 0.87)


@dataclass(frozen=True)
class DigitReading:
    prediction: Prediction
    pixels: np.ndarray  # what the model saw, 28×28 uint8
    confidence: float  # that this is a digit at all and that digit (see `read_number`)
    uncertain: bool
    feedback_token: str
    box: tuple[int, int, int, int]  # x, y, width, height in the uploaded picture (after EXIF rotation)
    crop: bytes = b""  # for a digit of a number: its part of the picture, small, as PNG


@dataclass(frozen=True)
class NumberReading:
    digits: list[DigitReading]
    model_version: str
    feedback_token: str  # the digit's own for one digit, the whole reading's for several
    reading_id: str = ""
    marks_left_out: int = 0  # marks beside the digits that are not digits (a letter, a sign)

    @property
    def number(self) -> str:
        return "".join(str(digit.prediction.digit) for digit in self.digits)

    @property
    def confidence(self) -> float:
        """That every digit is read right: the product of the digits' confidences."""
        return math.prod(digit.confidence for digit in self.digits)

    @property
    def uncertain(self) -> bool:
        return (
            self.confidence < settings.UNSURE_BELOW
            or any(digit.uncertain for digit in self.digits)
            or self.marks_left_out > 0
        )


def _lone_digit(image: Image.Image, *, judge: Callable[[np.ndarray], float]) -> DigitSegment:
    """The one digit of a small picture. One whose digit was stretched to fill its frame is read at
    its own width and narrowed (`narrowed_pictures`); the reading `judge` rates highest, times its
    NARROWED_RELIABILITY, is kept (the picture as it is on a tie)."""
    candidates, refusal = [], None
    for picture, reliability in zip((image, *narrowed_pictures(image)), (1.0, *NARROWED_RELIABILITY)):
        try:
            candidates.append((prepare_digit(picture), reliability))
        except NoDigitFound as error:
            refusal = refusal or error
    if not candidates:
        raise refusal
    pixels, reliability = (candidates[0] if len(candidates) == 1
                           else max(candidates, key=lambda candidate: judge(candidate[0]) * candidate[1]))
    return DigitSegment(mask=np.ones((1, 1), bool), box=(0, 0, image.width, image.height), pixels=pixels,
                        reliability=reliability)


def _writing(image: Image.Image, *, data: bytes) -> tuple[Writing, float, tuple[float, float]]:
    """The writing to read in `image` (decoded from `data`), how many of the upload's pixels one of
    its pixels spans, and where its top-left corner lies in the upload. Writing in a small part of
    the picture (`writing_box`) is read from a crop around it at the working side, decoded again at
    the scale that gives it that detail, instead of a few pixels tall in the whole picture."""
    ink = picture_ink(image, side=working_side(image.size))
    upload_scale = image.info.get(UPLOAD_SCALE, 1.0)
    scale = image.width * upload_scale / ink.shape[1]
    written = writing(ink)
    box = writing_box(written)
    if box is None:
        return written, scale, (0.0, 0.0)
    left, top, right, bottom = (value * scale for value in box)  # the upload's pixels
    wanted = working_side((round(right - left), round(bottom - top)))
    upload_side = max(image.width, image.height) * upload_scale
    if upload_scale > 1.0:  # a JPEG decoded at a reduced scale: decode again, finer
        side = min(math.ceil(wanted * upload_side / max(right - left, bottom - top)), round(upload_side))
        image, _ = open_image(data, limits=ImageLimits(max_pixels=settings.MAX_IMAGE_PIXELS), side=side)
        upload_scale = image.info.get(UPLOAD_SCALE, 1.0)
    crop_box = (math.floor(left / upload_scale), math.floor(top / upload_scale),
                math.ceil(right / upload_scale), math.ceil(bottom / upload_scale))
    crop = image.crop(crop_box)
    ink = picture_ink(crop, side=working_side(crop.size))
    corner = (crop_box[0] * upload_scale, crop_box[1] * upload_scale)
    return writing(ink), crop.width * upload_scale / ink.shape[1], corner


def _segments(image: Image.Image, *, data: bytes, score: Scorer, classify: Classify, read_line: ReadLine,
              judge: Callable[[np.ndarray], float]) -> list[DigitSegment]:
    """The marks in `image` (decoded from `data`), left to right, with their boxes in the uploaded
    file's pixels."""
    if max(image.size) <= SINGLE_DIGIT_SIDE:
        return [_lone_digit(image, judge=judge)]
    written, scale, (left, top) = _writing(image, data=data)

    def in_upload(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        x, y, width, height = box
        return (round(left + x * scale), round(top + y * scale), max(1, round(width * scale)),
                max(1, round(height * scale)))

    return [replace(segment, box=in_upload(segment.box))
            for segment in find_digits(written, score=score, classify=classify, read_line=read_line)]


def _doubted(confidence: float, *, one_digit: float, detector) -> float:
    """`confidence` lowered in proportion when the detector's score is below its `unsure_below`."""
    return confidence * min(1.0, one_digit / detector.unsure_below)


def _one_digit(segment: DigitSegment, detector) -> float:
    """The detector's score for the mark: the lower of its picture's and, where specks inside its
    box were dropped, of its picture with them."""
    score = detector.score(segment.pixels)
    if segment.with_specks is not None:
        score = min(score, detector.score(segment.with_specks))
    return score


def _read_alike_by_the_line_reader(pixels: np.ndarray, *, digit: int) -> np.ndarray | None:
    """The line reader's probabilities for the 28×28 picture when it reads there exactly the one
    `digit` the classifier reads, else None: then the detector's refusal is overruled into doubt, and
    the digit is read as any digit the line reader read (both readers weighed together). The line
    reader refuses letters and doodles in its own way (it reads them as nothing); a digit of an
    unusual hand the detector refuses, it often reads as the classifier does (docs/model.md, "Two
    readers, one verdict")."""
    reading = get_line_reader().read(pixels.astype(float), pixels > 0)
    if reading.digits != str(digit):
        return None
    return reading.probabilities[0]


def _with_line_reading(prediction: Prediction, line_probabilities: np.ndarray | None) -> Prediction:
    """The classifier's reading of a digit weighed with the line reader's (their product,
    renormalised): two readers of the same ink, one of the cut-out digit, one of the whole blob."""
    if line_probabilities is None:
        return prediction
    weighed = np.asarray(prediction.probabilities) * line_probabilities
    if weighed.sum() <= 0:
        return prediction
    weighed /= weighed.sum()
    digit = int(weighed.argmax())
    return replace(prediction, digit=digit, confidence=float(weighed[digit]),
                   probabilities=[float(p) for p in weighed])


def crop_png(image: Image.Image, box: tuple[int, int, int, int] | list[int]) -> bytes:
    """The part of the picture (from `open_image`) around one digit's `box` (in the uploaded
    file's pixels), small, as PNG bytes: the digit's own picture in its feedback record."""
    scale = image.info.get(UPLOAD_SCALE, 1.0)
    x, y, width, height = (value / scale for value in box)
    pad = max(width, height) / 8
    crop = image.crop((
        max(round(x - pad), 0), max(round(y - pad), 0),
        min(round(x + width + pad), image.width), min(round(y + height + pad), image.height),
    ))
    if crop.mode not in ("L", "LA", "RGB", "RGBA"):
        crop = crop.convert("RGBA" if "A" in crop.getbands() else "RGB")
    crop.thumbnail((CROP_SIDE, CROP_SIDE))
    buffer = io.BytesIO()
    crop.save(buffer, format="PNG")
    return buffer.getvalue()


def read_number(*, data: bytes, feature_maps_for: Collection[int] = ()) -> NumberReading:
    """Raises `ImageRejected` (unreadable) or `NoDigitFound` (no digit in it). `feature_maps_for`:
    the positions of the digits whose feature maps are wanted.

    Each digit's confidence is the classifier's probability for its digit, lowered in proportion
    when the detector doubts the mark is a digit at all (its score below `unsure_below`): a letter
    the classifier calls a "4" with certainty is not a confident "4"; and lowered by
    CUT_OUT_RELIABILITY when the digit was cut out of ink it touches. Marks the detector refuses
    are left out, but for digits cut out of ink they touch (only doubted), and a picture that is
    mostly such marks is no number. A digit of a blob the line
    reader read whole (`predictor.line_reading`) has both readers' probabilities weighed together;
    the detector only doubts it (flags it unsure), and its confidence is the weighed probability
    times LINE_READ_RELIABILITY. A mark the line reader reads as nothing and the detector scores
    below DOUBTED_BY_BOTH_BELOW is flagged unsure. A picture of one mark the detector refuses is
    read, flagged unsure, when the line reader reads it as the classifier's digit, and then as any
    digit the line reader read (both readers weighed, times LINE_READ_RELIABILITY). A small picture
    whose digit was stretched to fill its frame is also read narrowed, and the best reading kept,
    its confidence times its NARROWED_RELIABILITY."""
    image, image_format = open_image(data, limits=ImageLimits(max_pixels=settings.MAX_IMAGE_PIXELS), side=None)
    classifier, detector, segment_scorer = get_classifier(), get_detector(), get_segment_scorer()
    read: dict[bytes, tuple[np.ndarray, float]] = {}  # the segmenter weighs many runs more than once

    def classify_and_score(pixels: np.ndarray) -> tuple[np.ndarray, float]:
        key = pixels.tobytes()
        if key not in read:
            read[key] = np.asarray(classifier.predict(pixels=pixels).probabilities), segment_scorer.score(pixels)
        return read[key]

    def score(pixels: np.ndarray) -> tuple[float, float]:
        probabilities, one_digit = classify_and_score(pixels)
        return float(probabilities.max()), one_digit

    def judge(pixels: np.ndarray) -> float:
        """How well a lone mark reads: its confidence as below, 0 when the detector refuses it."""
        one_digit = detector.score(pixels)
        if one_digit < detector.threshold:
            return 0.0
        return _doubted(float(classify_and_score(pixels)[0].max()), one_digit=one_digit, detector=detector)

    segments = _segments(
        image, data=data, score=score, classify=lambda pixels: classify_and_score(pixels)[0],
        read_line=get_line_reader().read, judge=judge,
    )
    # Marks read as no digit are left out whatever the detector says: it judges only digits.
    scored = [(segment, _one_digit(segment, detector) if segment.is_digit else 0.0) for segment in segments]
    # A digit the line reader read in its blob is not refused by the detector (cut out of touching
    # ink, it may look like no whole digit), only doubted: the line reader reads letters as nothing.
    # Nor is any digit cut out of touching ink: dropped, it took a digit out of the number unsaid.
    kept = [(segment, one_digit) for segment, one_digit in scored if segment.is_digit
            and (one_digit >= detector.threshold or segment.line_probabilities is not None or segment.cut_out)]
    if not kept and len(scored) == 1 and scored[0][0].is_digit:
        # A lone mark two readers read alike is doubted, not refused.
        segment, one_digit = scored[0]
        line_probabilities = _read_alike_by_the_line_reader(
            segment.pixels, digit=int(classify_and_score(segment.pixels)[0].argmax()))
        if line_probabilities is not None:
            kept = [(replace(segment, line_probabilities=line_probabilities), one_digit)]
    marks = [segment for segment in segments if not segment.sign]  # points between digits do not count here
    if not kept or len(marks) - len(kept) > MAX_NON_DIGIT_SHARE * len(marks):
        raise NoDigitFound(NOT_A_DIGIT)
    predictions = [
        _with_line_reading(classifier.predict(pixels=segment.pixels, with_feature_maps=index in feature_maps_for),
                           segment.line_probabilities)
        for index, (segment, _) in enumerate(kept)
    ]
    several = len(kept) > 1
    reading_id = uuid.uuid4().hex if several else ""
    token_ids = [uuid.uuid4().hex for _ in kept]
    # A small original rides in the token and is written only if someone gives feedback on it:
    # most readings get none, and a write (a Cloud Storage round trip on Cloud Run) is skipped.
    inline = len(data) <= settings.INLINE_ORIGINAL_BYTES
    upload_name = ""
    if not inline:
        try:
            upload_name = store_original(data=data, image_format=image_format, token_id=reading_id or token_ids[0])
        except Exception:  # noqa: BLE001 - storage down (bucket outage, full disk): the reading still counts
            logger.exception("could not store an original; feedback on it will keep only the model input")
    digits = []
    for index, ((segment, one_digit), prediction) in enumerate(zip(kept, predictions)):
        pixels, box = segment.pixels, segment.box
        if several:  # each digit's token carries its own small crop; the whole picture rides with the reading
            original, original_format, stored = crop_png(image, box), "PNG", ""
        else:
            original, original_format, stored = (data, image_format, "") if inline else (b"", "", upload_name)
        token = make_feedback_token(
            token_id=token_ids[index],
            upload_name=stored,
            original=original,
            original_format=original_format,
            pixels=pixels,
            predicted_digit=prediction.digit,
            probabilities=prediction.probabilities,
            model_version=prediction.model_version,
            reading_id=reading_id,
            position=index if several else None,
            box=box if several else None,
        )
        if segment.line_probabilities is not None:  # two readers agree on it: no doubt from the detector
            confidence = prediction.confidence * LINE_READ_RELIABILITY
        else:  # lowered for doubtful marks, and for digits cut out of ink they touch
            confidence = _doubted(prediction.confidence, one_digit=one_digit, detector=detector)
            if segment.cut_out:
                confidence *= CUT_OUT_RELIABILITY
        confidence *= segment.reliability
        doubted_by_both = segment.line_reads_nothing and one_digit < DOUBTED_BY_BOTH_BELOW
        digits.append(DigitReading(
            prediction=prediction, pixels=pixels, confidence=confidence,
            uncertain=confidence < settings.UNSURE_BELOW or one_digit < detector.unsure_below or doubted_by_both,
            feedback_token=token, box=box, crop=original if several else b"",
        ))
    if several:
        token = make_reading_token(
            reading_id=reading_id,
            digits=[ReadDigit(token_id=token_ids[i], pixels=d.pixels, predicted_digit=d.prediction.digit,
                              probabilities=d.prediction.probabilities, box=d.box) for i, d in enumerate(digits)],
            model_version=predictions[0].model_version,
            upload_name=upload_name,
            original=data if inline else b"",
            original_format=image_format if inline else "",
        )
    else:
        token = digits[0].feedback_token
    return NumberReading(digits=digits, model_version=predictions[0].model_version, feedback_token=token,
                         reading_id=reading_id, marks_left_out=len(segments) - len(kept))
