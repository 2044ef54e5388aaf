"""The accuracy goals a trained model is held to, as `train_base` checks them."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from training.evaluation import missed_goals


def test_a_figure_below_its_goal_is_missed_and_one_at_the_goal_is_not():
    served = {"mnist_test_direct": 0.995, "mnist_test_upload": 0.9949, "usps_test_upload": 0.98, "semeion_upload": 0.9278}
    assert missed_goals(served) == {"mnist_test_upload": 0.995, "semeion_upload": 0.93}


def test_a_set_that_was_not_measured_misses_nothing():
    assert missed_goals({"mnist_test_direct": 0.996, "mnist_test_upload": 0.996}) == {}


def test_the_bundled_model_misses_no_goal():
    card = json.loads((Path(settings.BUNDLED_MODEL_DIR) / "model_card.json").read_text())
    assert missed_goals(card["served_accuracy"]) == {}
