"""Which digits a model confuses. The training recipe trades MNIST's sevens against Semeion's ones
(docs/model.md, "Looking for a margin"); bench/train_seeds.py counts those errors for every run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from bench.train_seeds import error_groups, table_row
from training.evaluation import confusions, heldout_path, load_classifier, readings_through_upload
from training.mnist import load_mnist

MODEL_DIR = Path(settings.BUNDLED_MODEL_DIR)


def test_confusions_count_each_wrong_reading_by_true_and_read_digit():
    readings = [1, None, 7, 2, 7, 4]
    labels = np.array([1, 4, 1, 2, 1, 4])
    assert confusions(readings, labels) == Counter({(1, 7): 2, (4, None): 1})


def test_a_refused_picture_reads_as_none(mnist_path):
    data = load_mnist(path=mnist_path)
    pictures = np.stack([data.x_test[0], np.zeros((28, 28), np.uint8)])
    readings = readings_through_upload(load_classifier(model_dir=MODEL_DIR), pictures)
    assert readings == [int(data.y_test[0]), None]


def test_the_bundled_models_traded_errors_are_the_documented_ones(mnist_path):
    """docs/model.md ("Two networks"): the bundled two networks read 6 MNIST sevens as 1, and get 14
    of Semeion's ones, 23 fours and 37 nines wrong (the one network before them: 5; 13, 29, 38)."""
    if not heldout_path(mnist_path=mnist_path, name="semeion").is_file():
        pytest.skip("Semeion not found beside mnist.npz (heldout/semeion.npz)")
    assert error_groups(model_dir=MODEL_DIR, mnist_path=str(mnist_path)) == (6, [14, 23, 37])


def test_a_run_row_names_the_goals_it_misses():
    card = {"version": "base-0123456789",
            "served_accuracy": {"mnist_test_direct": 0.9949, "mnist_test_upload": 0.9949,
                                "usps_test_upload": 0.975087, "semeion_upload": 0.936598},
            "missed_goals": {"mnist_test_direct": 0.995, "mnist_test_upload": 0.995}}
    row = table_row(seed=3, wall_seconds=424.4, card=card, sevens_as_ones=6, semeion_wrong=[13, 30, 41])
    assert row == ("| 3 | 7 min 4 s | `base-0123456789` | 99.49 % | 97.51 % | 93.66 % | "
                   "mnist_test_direct, mnist_test_upload | 6 | 13 / 30 / 41 |")
    card["missed_goals"] = {}
    assert "| none |" in table_row(seed=1, wall_seconds=60, card=card, sevens_as_ones=0, semeion_wrong=[0, 0, 0])
