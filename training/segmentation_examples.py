"""What the segmenter weighs, labelled: for teaching the segment scorer to judge cut-out pieces.

The segmenter (`predictor.segmentation`) cuts a picture of a number into pieces and weighs runs of
them as digits; the segment scorer's score decides between a run that is one whole digit and one
that is half a digit, or a digit with a bite of its neighbour. Pairs slid together and fragments cut
straight (`training.negatives`) are only a sketch of those. Here numbers are written from training
digits (`training.number_pictures`), rendered the ways people upload them, read into pieces by the
server's own code, and every run it would weigh is labelled by whose ink it holds: one whole digit
(1), parts of two or a part of one (0), or too close to call (left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from predictor.preprocessing import NoDigitFound, open_image, picture_ink, working_side
from predictor.segmentation import Layout, Scorer, layout
from training.negatives import NARROW_PART
from training.number_pictures import RENDERINGS, compose_with_owners, render

#: Spacings to write with, and how often: touching digits are where the pieces go wrong.
SPACING_SHARES = {"touching": 0.6, "close": 0.25, "apart": 0.15}


@dataclass(frozen=True)
class RunLabelling:
    """When a run counts as one whole digit, and when as not one: by the share of its ink that is
    its main digit's (purity) and the share of that digit's ink it holds (coverage). Where touching
    digits overlap no single cut parts them exactly, so a whole digit may carry a little of its
    neighbour or leave a little behind."""

    whole_purity: float = 0.9
    whole_coverage: float = 0.85
    broken_purity: float = 0.8
    broken_coverage: float = 0.7


def bundled_scorer() -> Scorer:
    """A scorer for the segmenter made of the bundled classifier (not whatever version is active)
    and the bundled detector: the segment scorer being trained cannot yet judge its own examples,
    so the runs learnt from are those the segmenter weighs with the detector in its place."""
    from django.conf import settings

    from modelfiles import bundled_model_files
    from predictor.inference import DigitClassifier
    from predictor.rejection import get_detector

    classifier = DigitClassifier(files=bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR)))
    detector = get_detector()
    return lambda pixels: (classifier.predict(pixels=pixels).confidence, detector.score(pixels))


def label_runs(
    found: Layout, owner: np.ndarray, *, labelling: RunLabelling = RunLabelling()
) -> list[tuple[list[int], int]]:
    """Each candidate run of `found` with 1 (one whole digit), 0 (not one) — runs too close to
    call are left out. `owner`: the digit index of each pixel of the ink picture, −1 for none."""
    digits = int(owner.max()) + 1
    if digits < 1:
        return []
    owned = np.where(found.strokes, owner, -1)
    sizes = np.bincount(owned[owned >= 0], minlength=digits)
    labelled = []
    for run in found.candidate_runs():
        inside = owned[found.run_mask(run)]
        inside = inside[inside >= 0]
        if not len(inside):
            continue
        counts = np.bincount(inside, minlength=digits)
        main = int(np.argmax(counts))
        purity, coverage = counts[main] / len(inside), counts[main] / max(sizes[main], 1)
        if purity >= labelling.whole_purity and coverage >= labelling.whole_coverage:
            labelled.append((run, 1))
        elif purity < labelling.broken_purity or (coverage < labelling.broken_coverage and not _narrow(found, run)):
            labelled.append((run, 0))
    return labelled


def _narrow(found: Layout, run: list[int]) -> bool:
    """Narrower than NARROW_PART of its height, across the writer's slant."""
    width, height = found.run_size(run)
    return width < NARROW_PART * height


def written_number(
    digits: list[np.ndarray], *, rng: np.random.Generator, spacing: str, rendering: str
) -> tuple[np.ndarray, np.ndarray]:
    """`digits` written as a number, rendered as uploaded, and seen as the server sees it: the ink
    picture (`preprocessing.picture_ink`) and which digit each of its pixels belongs to (−1: none)."""
    ink, _, owner = compose_with_owners(digits, rng=rng, spacing=spacing)
    data, _ = render(ink, rendering=rendering, rng=rng)
    image, _ = open_image(data, side=None)
    seen = picture_ink(image, side=working_side(image.size))
    seen_owner = Image.fromarray(owner.astype(np.int32), mode="I").resize((seen.shape[1], seen.shape[0]),
                                                                           Image.Resampling.NEAREST)
    return seen, np.asarray(seen_owner)


def segmentation_examples(
    images: np.ndarray, *, count: int, seed: int, score: Scorer, lengths: tuple[int, int] = (2, 5)
) -> tuple[np.ndarray, np.ndarray]:
    """28×28 pictures of the runs the segmenter weighs in `count` numbers written from `images`
    (28×28 digits, white on black), and their labels (1: one whole digit). `score` is the scorer the
    segmenter uses to leave sure digits uncut."""
    rng = np.random.default_rng(seed)
    spacings, shares = list(SPACING_SHARES), list(SPACING_SHARES.values())
    pictures: list[np.ndarray] = []
    labels: list[int] = []
    for _ in range(count):
        length = int(rng.integers(lengths[0], lengths[1] + 1))
        chosen = rng.choice(len(images), size=length, replace=False)
        spacing = spacings[int(rng.choice(len(spacings), p=shares))]
        rendering = RENDERINGS[int(rng.integers(len(RENDERINGS)))]
        seen, seen_owner = written_number([images[i] for i in chosen], rng=rng, spacing=spacing, rendering=rendering)
        try:
            found = layout(seen, score=score)
        except NoDigitFound:
            continue
        for run, label in label_runs(found, seen_owner):
            pictures.append(found.prepared(run))
            labels.append(label)
    if not pictures:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.float32)
    return np.stack(pictures), np.array(labels, dtype=np.float32)
