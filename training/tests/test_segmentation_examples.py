"""The runs the segmenter weighs, labelled by whose ink they hold, for the detector to learn from."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelfiles import bundled_model_files
from predictor.inference import DigitClassifier
from predictor.segmentation import layout
from predictor.tests import renders
from training.number_pictures import compose, compose_with_owners
from training.segmentation_examples import bundled_scorer, label_runs, segmentation_examples, written_number

DIGITS, LABELS = renders.mnist_samples()
SAMPLE = renders.one_of_each()


def test_each_digits_ink_is_owned_by_it_and_compose_is_unchanged():
    digits = [SAMPLE[4], SAMPLE[2], SAMPLE[7]]
    ink, boxes, owner = compose_with_owners(digits, rng=np.random.default_rng(3), spacing="touching")
    plain, plain_boxes = compose(digits, rng=np.random.default_rng(3), spacing="touching")
    np.testing.assert_array_equal(ink, plain)
    assert boxes == plain_boxes and owner.shape == ink.shape
    assert set(np.unique(owner[ink > 0.5]).tolist()) == {0, 1, 2}  # every stroke belongs to a digit
    assert (owner[ink <= 0.08] == -1).all()
    for index, (x, y, width, height) in enumerate(boxes):
        rows, cols = np.nonzero(owner == index)
        assert x <= cols.min() and cols.max() < x + width and y <= rows.min() and rows.max() < y + height


def test_a_touching_pair_gives_whole_digits_and_a_pair_that_is_not_one(settings):
    seen, seen_owner = written_number([SAMPLE[4], SAMPLE[2]], rng=np.random.default_rng(0), spacing="touching",
                                      rendering="scan")
    found = layout(seen, score=bundled_scorer())
    labelled = label_runs(found, seen_owner)
    whole = [run for run, label in labelled if label == 1]
    broken = [run for run, label in labelled if label == 0]
    assert whole and broken
    everything = list(range(len(found.pieces)))
    assert everything not in whole  # both digits together are not one digit
    # The whole digits read as the digits they are; the runs labelled whole cover both.
    classifier = DigitClassifier(files=bundled_model_files(directory=Path(settings.BUNDLED_MODEL_DIR)))
    assert {classifier.predict(pixels=found.prepared(run)).digit for run in whole} >= {4, 2}


def test_examples_are_prepared_pictures_and_the_same_seed_gives_the_same():
    score = bundled_scorer()
    pictures, labels = segmentation_examples(DIGITS, count=6, seed=2, score=score)
    assert pictures.shape[1:] == (28, 28) and pictures.dtype == np.uint8 and len(pictures) == len(labels)
    assert set(np.unique(labels).tolist()) == {0.0, 1.0}
    again, again_labels = segmentation_examples(DIGITS, count=6, seed=2, score=score)
    np.testing.assert_array_equal(pictures, again)
    np.testing.assert_array_equal(labels, again_labels)
