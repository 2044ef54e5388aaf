"""The line reader: the blobs it learns from and `train_line_reader`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from predictor.line_reading import BLANK, LINE_HEIGHT, LINE_WIDTH, LineReader
from predictor.tests import renders
from training.line_reader import (
    MAX_LENGTH,
    ShiftedBatches,
    build_line_reader,
    ctc_loss,
    line_examples,
    line_examples_in_chunks,
)
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


def test_pictures_drawn_in_chunks_are_the_same_however_many_processes_draw_them(monkeypatch):
    monkeypatch.setattr("training.line_reader.CHUNK", 25)
    options = dict(count=60, seed=4, small_scans=0.2, close=0.25, longest=5)
    alone = line_examples_in_chunks(DIGITS, LABELS, processes=1, **options)
    side_by_side = line_examples_in_chunks(DIGITS, LABELS, processes=2, **options)
    assert alone[0].shape == (60, LINE_HEIGHT, LINE_WIDTH)
    for one, other in zip(alone, side_by_side):
        np.testing.assert_array_equal(one, other)
    # each chunk draws its own pictures: the second is not the first again
    assert not np.array_equal(alone[0][:25], alone[0][25:50])


@pytest.mark.parametrize("band", [4, 2])
def test_the_line_reader_scores_one_column_band_of_the_width_asked_for(band):
    model = build_line_reader(band=band)
    assert model.output.shape[1:] == (LINE_WIDTH // band, BLANK + 1)


def test_the_training_loss_is_the_ctc_loss_the_server_reads_with():
    """Fitting minimises minus the log-likelihood that `predictor.line_reading` sums over paths to
    weigh the readers' votes, for blobs of several digits, a repeated digit and no digit at all."""
    from predictor.line_reading import log_likelihood

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 32, BLANK + 1)).astype(np.float32)
    targets = np.full((3, MAX_LENGTH), BLANK, np.int32)
    targets[0, :3] = [4, 2, 7]
    targets[1, :2] = [1, 1]
    losses = np.asarray(ctc_loss(targets, logits))
    scores = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    expected = [-log_likelihood(scores[0], "427"), -log_likelihood(scores[1], "11"), -log_likelihood(scores[2], "")]
    np.testing.assert_allclose(losses, expected, rtol=1e-4)


def test_training_batches_move_the_ink_at_most_a_pixel_and_hold_every_picture_each_epoch():
    pictures = np.zeros((10, LINE_HEIGHT, LINE_WIDTH), np.uint8)
    pictures[:, 15, :] = np.arange(10)[:, None] + 1  # one row of ink, its value the picture's number
    targets = np.arange(10)[:, None].repeat(MAX_LENGTH, axis=1)
    batches = ShiftedBatches(pictures, targets, batch_size=4, seed=1)
    assert len(batches) == 3
    for _ in range(2):
        seen = []
        for index in range(len(batches)):
            x, y = batches[index]
            assert x.shape[1:] == (LINE_HEIGHT, LINE_WIDTH, 1) and x.dtype == np.float32
            rows = {int(np.flatnonzero(picture[..., 0].any(axis=1))[0]) for picture in x}
            assert len(rows) == 1 and rows <= {14, 15, 16}  # one shift for the batch
            assert (x[:, :, 0, 0].max(axis=1) == y[:, 0] + 1).all()  # each picture keeps its label
            seen += y[:, 0].tolist()
        assert sorted(seen) == list(range(10))
        batches.on_epoch_end()


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


@pytest.mark.slow
def test_train_line_reader_makes_a_reader_of_two_pixel_bands(mnist_path, tmp_path):
    output = tmp_path / "narrow"
    call_command("train_line_reader", data=str(mnist_path), epochs=1, examples=200, train_limit=600, band=2,
                 processes=2, output=str(output), verbosity=0)
    card = json.loads((output / "line_reader_card.json").read_text())
    assert card["config"]["band"] == 2 and card["versions"]["backend"] == "tensorflow"
    scores = LineReader(path=output / "line_reader.tflite").scores(np.zeros((LINE_HEIGHT, LINE_WIDTH), np.uint8))
    assert scores.shape == (LINE_WIDTH // 2, BLANK + 1)


@pytest.mark.parametrize("option", ["--epochs=0", "--examples=0", "--seed=-1", "--train-limit=0", "--small-scans=1.5",
                                    "--processes=0"])
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
    `train_line_reader` rebuilds it by that recipe (README, docs/model.md; its pictures drawn anew:
    the bundled three were trained on pictures drawn in one sequence, before they were drawn in chunks)."""
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
