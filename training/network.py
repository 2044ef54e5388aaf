"""The digit classifier: a small, fast CNN whose conv layers are named so feature maps are easy."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
#: Conv layers whose activations the app shows as feature maps, in forward order.
CONV_LAYER_NAMES = ("conv1", "conv2", "conv3", "conv4")
#: An ensemble's members are named member1, member2, … inside it.
MEMBER_PREFIX = "member"
ENSEMBLE_NAME = "digit_cnn_ensemble"


def _conv_block(x, filters: int, name: str):
    """Conv → BatchNorm → ReLU; the ReLU output carries the conv's name so it is what users see."""
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=name)(x)


def build_model() -> keras.Model:
    """Input is the 28×28 picture in MNIST's 0‥255 scale; the scaling lives inside the model so
    training, serving and finetuning cannot disagree about it."""
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    x = _conv_block(x, 16, "conv1")
    x = layers.MaxPooling2D(name="pool1")(x)
    x = _conv_block(x, 32, "conv2")
    x = _conv_block(x, 64, "conv3")
    x = layers.MaxPooling2D(name="pool2")(x)
    x = _conv_block(x, 128, "conv4")
    # The 7×7 map flattened, not averaged: where a stroke lies (a bar at the top or across the
    # middle) is what tells some digits apart. Against global average pooling, on the same five
    # seeds, MNIST and Semeion read better in each and USPS about the same, for 61k more parameters
    # and as many multiply-adds, under 1 % of the forward pass (docs/model.md).
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(0.25, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digit_cnn")


def build_ensemble(members: Sequence[keras.Model]) -> keras.Model:
    """Networks trained alike from different seeds, their probabilities averaged.

    Each seed errs on different digits of writers MNIST never saw, and is sure of different wrong
    answers; the average is right more often and sure less often when wrong (docs/model.md,
    "Two networks"). The members keep their layers' names inside them, so the first one's conv
    layers are still the feature maps users see."""
    if len(members) < 2:
        raise ValueError("an ensemble needs at least two members")
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    answers = [
        keras.Model(member.input, member.output, name=f"{MEMBER_PREFIX}{index}")(inputs)
        for index, member in enumerate(members, start=1)
    ]
    outputs = layers.Average(name="probabilities")(answers)
    return keras.Model(inputs, outputs, name=ENSEMBLE_NAME)


def ensemble_members(model: keras.Model) -> list[keras.Model]:
    """The networks inside `model`: itself when it is a single one."""
    members = [layer for layer in model.layers if layer.name.startswith(MEMBER_PREFIX)]
    return members or [model]


def with_feature_maps(model: keras.Model) -> keras.Model:
    """The same weights, answering probabilities and every conv activation in one forward pass
    (an ensemble's averaged probabilities, and its first member's activations)."""
    first, *others = ensemble_members(model)
    outputs = {"probabilities": first.output}
    for name in CONV_LAYER_NAMES:
        outputs[name] = first.get_layer(name).output
    if not others:
        return keras.Model(model.input, outputs, name=f"{model.name}_with_maps")
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    answers = keras.Model(first.input, outputs, name=f"{first.name}_with_maps")(inputs)
    probabilities = layers.Average(name="probabilities")(
        [answers.pop("probabilities")] + [member(inputs) for member in others]
    )
    return keras.Model(inputs, {"probabilities": probabilities, **answers}, name=f"{model.name}_with_maps")
