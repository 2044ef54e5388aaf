"""The line reader: the blobs it learns from and `train_line_reader`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from predictor.line_reading import BLANK, LINE_HEIGHT, LINE_WIDTH, LineReader
from predictor.tests import renders
from training.line_reader import MAX_LENGTH, line_examples
from training.negatives import load_glyphs

DIGITS, LABELS = renders.mnist_samples()


def test_line_examples_are_labelled_blobs_of_digits_and_of_no_digit():
    glyphs, _ = load_glyphs()
    pictures, targets, lengths = line_examples(DIGITS, LABELS, count=60, seed=3, small_scans=0.2, close=0.25,
                                               non_digits=0.3, glyphs=glyphs)
    assert pictures.shape == (60, LINE_HEIGHT, LINE_WIDTH) and pictures.dtype == np.uint8
    assert targets.shape == (60, MAX_LENGTH) and (lengths <= MAX_LENGTH).all()
    assert all(picture.max() > 128 for picture in pictures)  # every one holds ink
    assert (lengths == 0).any() and (lengths >= 3).any()  # no digit at all, and several
    for target, length in zip(targets, lengths):
        assert (target[:length] < BLANK).all() and (target[length:] == BLANK).all()
        assert set(target[:length].tolist()) <= set(LABELS.tolist())
    again = line_examples(DIGITS, LABELS, count=60, seed=3, small_scans=0.2, close=0.25, non_digits=0.3, glyphs=glyphs)
    np.testing.assert_array_equal(pictures, again[0])  # the same seed, the same pictures


@pytest.mark.slow
def test_train_line_reader_writes_a_litert_file_and_a_card(mnist_path, tmp_path, capsys):
    output = tmp_path / "line_reader"
    call_command("train_line_reader", data=str(mnist_path), epochs=1, examples=300, train_limit=600,
                 small_scans=0.5, longest=6, output=str(output))
    assert {path.name for path in output.iterdir()} == {"line_reader.tflite", "line_reader_card.json"}
    card = json.loads((output / "line_reader_card.json").read_text())
    assert card["config"]["examples"] == 300 and card["validation"]["pictures"] == 300
    assert card["config"]["small_scans"] == 0.5 and card["config"]["longest"] == 6
    assert set(card["validation"]["exact_by_length"]) <= {"1", "2", "3", "4", "5", "6"}
    assert 0.0 <= card["validation"]["exact"] <= 1.0 and 0.0 <= card["validation"]["non_digits_read_as_nothing"] <= 1.0
    scores = LineReader(path=output / "line_reader.tflite").scores(np.zeros((LINE_HEIGHT, LINE_WIDTH), np.uint8))
    assert scores.shape == (LINE_WIDTH // 4, BLANK + 1) and np.allclose(scores.sum(axis=1), 1.0, atol=1e-3)
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and "validation blobs" in out


@pytest.mark.parametrize("option", ["--epochs=0", "--examples=0", "--seed=-1", "--train-limit=0", "--small-scans=1.5"])
def test_train_line_reader_refuses_bad_numbers_before_training(tmp_path, option):
    with pytest.raises(CommandError, match="must be"):
        call_command("train_line_reader", option, output=str(tmp_path / "o"), verbosity=0)
    assert not (tmp_path / "o").exists()


def test_train_line_reader_needs_an_mnist_file(tmp_path):
    with pytest.raises(CommandError, match="MNIST file not found"):
        call_command("train_line_reader", data=str(tmp_path / "missing.npz"), output=str(tmp_path / "o"), verbosity=0)


@pytest.mark.parametrize(("name", "seed", "longest"),
                         [("line_reader", 2, 5), ("line_reader_seed1", 1, 5), ("line_reader_six", 2, 6)])
def test_the_bundled_line_readers_are_what_train_line_reader_makes_by_default(name, seed, longest):
    """Each card's recipe is today's default but for its seed and `--longest`, so
    `train_line_reader` rebuilds it (README, docs/model.md)."""
    from dataclasses import asdict
    from pathlib import Path

    from django.conf import settings

    from training.line_reader import LineReaderConfig

    card = json.loads((Path(settings.BUNDLED_MODEL_DIR) / f"{name}_card.json").read_text())
    assert card["config"] == json.loads(json.dumps(asdict(LineReaderConfig(seed=seed, longest=longest))))


@pytest.mark.parametrize("longest", [5, 6])
def test_line_examples_hold_blobs_of_up_to_the_longest_number_asked_for(longest):
    """The bundled "six" line reader learns blobs of up to six digits, the longest numbers the app
    reads written touching; the other two learn up to five, drawn as before."""
    _, targets, lengths = line_examples(DIGITS, LABELS, count=300, seed=5, small_scans=0.0, close=0.0, longest=longest)
    assert lengths.max() == longest and targets.shape == (300, MAX_LENGTH)
