"""The committed base model keeps the promises of its model card (slices here; full sets in bench/)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from django.conf import settings

from training.evaluation import (
    accuracy_direct,
    accuracy_through_upload,
    heldout_path,
    load_classifier,
    load_heldout,
)
from training.mnist import load_mnist

MODEL_DIR = Path(settings.BUNDLED_MODEL_DIR)
CARD = json.loads((MODEL_DIR / "model_card.json").read_text())


def test_the_bundled_model_is_what_train_base_makes_by_default():
    """Its card's recipe is today's default, so `train_base --seed 1` rebuilds it (byte for byte on
    the kind of CPU it was trained on, docs/model.md)."""
    from training.train import TrainConfig

    assert CARD["config"] == json.loads(json.dumps(asdict(TrainConfig(seed=CARD["seed"]))))


def test_the_bundled_model_is_todays_networks_averaged():
    import keras

    from training.network import build_model, ensemble_members

    members = ensemble_members(keras.models.load_model(MODEL_DIR / "model.keras"))
    assert len(members) == CARD["config"]["members"] == len(CARD["members"]) >= 2
    assert CARD["parameters"] == len(members) * build_model().count_params()
    assert [member["seed"] for member in CARD["members"]] == [CARD["seed"] + index for index in range(len(members))]


def test_model_files_are_small():
    assert (MODEL_DIR / "model.keras").stat().st_size <= 2 * 1024 * 1024
    assert (MODEL_DIR / "model.tflite").stat().st_size <= 2 * 1024 * 1024


@pytest.mark.parametrize(
    ("figure", "goal"),
    [
        ("mnist_test_direct", 0.995),
        ("mnist_test_upload", 0.995),
        ("usps_test_upload", 0.965),
        ("semeion_upload", 0.93),
    ],
)
def test_card_meets_the_accuracy_goal(figure, goal):
    assert CARD["served_accuracy"][figure] >= goal


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(model_dir=MODEL_DIR)


def test_mnist_test_slice_matches_the_card(classifier, mnist_path):
    data = load_mnist(path=mnist_path)
    x, y = data.x_test[:2000], data.y_test[:2000]
    assert accuracy_direct(classifier, x, y) >= CARD["served_accuracy"]["mnist_test_direct"] - 0.01
    assert accuracy_through_upload(classifier, x, y) >= CARD["served_accuracy"]["mnist_test_upload"] - 0.01


@pytest.mark.parametrize("name", ["usps_test", "semeion"])
def test_heldout_handwriting_matches_the_card(classifier, mnist_path, name):
    path = heldout_path(mnist_path=mnist_path, name=name)
    if not path.is_file():
        pytest.skip(f"held-out set not found at {path}")
    images, labels = load_heldout(path)
    assert accuracy_through_upload(classifier, images, labels) == pytest.approx(
        CARD["served_accuracy"][f"{name}_upload"], abs=1e-6
    )


def test_the_bundled_file_is_what_export_makes_by_default():
    """Weights in 8 bits (training.export): about four times as fast to serve as float weights."""
    from training.tests.litert import int8_tensors

    assert int8_tensors(MODEL_DIR / "model.tflite") >= 3
