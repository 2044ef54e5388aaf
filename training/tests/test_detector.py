"""The digit detector: the non-digits it learns from, `train_detector`, and the bundled one's verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from predictor.rejection import DigitDetector
from predictor.tests import renders
from training.negatives import GLYPHS, LOOK_ALIKES, fragment, load_glyphs, non_digits, scribble, touching_pair

DIGITS, LABELS = renders.mnist_samples()


def test_no_glyph_is_a_letter_a_reader_takes_for_a_digit():
    assert not set(GLYPHS) & (LOOK_ALIKES | set("0123456789"))
    glyphs, fonts = load_glyphs()
    assert glyphs.shape[1:] == (28, 28) and len(glyphs) == len(fonts) and len(set(fonts.tolist())) >= 10


def test_non_digits_are_prepared_like_uploads_and_come_in_every_kind():
    rng = np.random.default_rng(0)
    made = [touching_pair(DIGITS[0], DIGITS[1], rng=rng), fragment(DIGITS[2], rng=rng), scribble(rng=rng)]
    for picture in made:
        if picture is not None:
            assert picture.shape == (28, 28) and picture.dtype == np.uint8 and picture.max() >= 250
    glyphs, _ = load_glyphs()
    pictures = non_digits(DIGITS, count=40, seed=1, glyphs=glyphs)
    assert pictures.shape == (40, 28, 28)
    again = non_digits(DIGITS, count=40, seed=1, glyphs=glyphs)
    np.testing.assert_array_equal(pictures, again)  # the same seed, the same pictures


def test_the_bundled_detector_tells_digits_from_letters(settings):
    from pathlib import Path

    detector = DigitDetector(directory=Path(settings.BUNDLED_MODEL_DIR))
    assert detector.threshold < detector.unsure_below < 1.0
    digit_scores = [detector.score(digit) for digit in DIGITS]
    assert np.mean([score >= detector.threshold for score in digit_scores]) == 1.0
    glyphs, _ = load_glyphs()
    refused = np.mean([detector.score(glyph) < detector.unsure_below for glyph in glyphs])
    assert refused > 0.8, "most letters and signs are refused or doubted"


@pytest.mark.slow
def test_train_detector_writes_a_litert_file_and_a_card(mnist_path, tmp_path, capsys):
    output = tmp_path / "detector"
    call_command("train_detector", data=str(mnist_path), epochs=1, train_limit=600, output=str(output), verbosity=0)
    assert {path.name for path in output.iterdir()} == {"detector.tflite", "detector_card.json"}
    card = json.loads((output / "detector_card.json").read_text())
    assert 0.0 <= card["threshold"] <= card["unsure_below"] <= 1.0
    assert card["validation"]["digits"] == 600 and card["validation"]["non_digits"] == 600
    assert card["validation"]["digits_refused"] <= 0.01  # the threshold is that quantile of the digits
    detector = DigitDetector(directory=output)
    assert 0.0 <= detector.score(DIGITS[0]) <= 1.0
    assert "Threshold" in capsys.readouterr().out


def test_train_detector_refuses_bad_numbers_before_training(tmp_path):
    with pytest.raises(CommandError, match="--epochs: must be at least 1"):
        call_command("train_detector", "--epochs=0", output=str(tmp_path / "o"), verbosity=0)
