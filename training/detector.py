"""The digit detector: a small second network that says whether a 28×28 picture is one digit.

The digit classifier always answers one of ten digits, and confidently so for a letter or two
digits that touch (it never saw either). The detector was trained for exactly that question, on
MNIST training digits (with the base model's styles and augmentation) against pictures that are
not one digit (`training.negatives`). Serving uses it to refuse non-digits.

Its twin, the segment scorer, is trained by the same recipe on the same pictures and, besides, on
the pieces the segmenter cuts out of numbers written from training digits, labelled whole digit or
not (`training.segmentation_examples`): it tells the segmenter which pieces make whole digits. It
learns that task better than the detector, and the detector refuses more letters without it
(docs/model.md), so each does one. Both are trained once, by `train_detector` (`--segment-scorer`
for the twin), and bundled beside the base model; finetuning does not change them.

Choices are made on validation data carved from training data: the last VALIDATION_DIGITS MNIST
training digits (never trained on), augmented as training augments them, and non-digits made from
them and from held-out fonts.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from predictor.rejection import DETECTOR, OUTPUT_NAME, NetworkScores, network_files
from training.augment import AugmentConfig, augment_batch
from training.calibration import calibration_pictures
from training.export import write_litert
from training.mnist import VALIDATION_DIGITS, load_mnist
from training.negatives import load_glyphs, non_digits
from training.scans import as_small_scans
from training.segmentation_examples import bundled_scorer, segmentation_examples
from training.styles import with_european_styles

#: Fonts whose glyphs are kept out of training, for validation (indices in `installed_fonts()`'s
#: order): two handwriting fonts and the first two TYPESET_FONTS.
VALIDATION_FONTS = (0, 7, 16, 17)


@dataclass
class DetectorConfig:
    epochs: int = 10
    batch_size: int = 256
    learning_rate: float = 2e-3
    #: 1.5 non-digits a digit refused 1 pp more validation non-digits than 1.0 (docs/model.md, 2026-11-29).
    negatives_per_digit: float = 1.5
    seed: int = 1
    #: The share of validation digits the chosen thresholds may refuse, and refuse or flag unsure.
    #: (Doubting 1 % was tried on 2026-11-29 and undone: docs/model.md, "The detector's doubt".)
    refused_digits: float = 0.002
    doubted_digits: float = 0.005
    #: The share of pictures, digits and non-digits alike, shown as the server sees them uploaded as
    #: 16×16 scans (`as_small_scans`): augmenting the 28×28 picture does not make what the server's
    #: enlarging of a box-filling, often binary, 16×16 scan makes (docs/model.md, 2026-11-29).
    small_scans: float = 0.25
    #: The network's width. 32-64-128 with a dense 128 refused more validation non-digits than
    #: 16-32-64 with a dense 64 (85.5 against 82.3 %) but costs about four times as long a picture in
    #: float; with its weights in 8-bit integers (`quantized`) about what the narrow one did in float.
    filters: tuple[int, ...] = (32, 64, 128)
    dense: int = 128
    #: Export with 8-bit integer weights (LiteRT's dynamic-range quantization: the activations are
    #: quantized on the fly, the score stays a float); the thresholds are chosen on the exported
    #: network's own scores, so they hold for what serves.
    quantized: bool = True
    #: For the segment scorer: numbers written from training digits whose candidate runs, as the
    #: segmenter cuts them, are learnt from too (`training.segmentation_examples`; 0 for the
    #: detector), and a sixth as many from the validation digits to report on.
    segmentation_numbers: int = 0
    train_limit: int | None = None  # a slice of the training digits, for tests
    validation_digits: int = VALIDATION_DIGITS


def build_detector(*, filters: tuple[int, ...], dense: int) -> keras.Model:
    inputs = keras.Input(shape=(28, 28, 1), name="image")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    for width in filters:
        x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(dense, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(1, activation="sigmoid", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="digit_detector")


def _batches(x: np.ndarray, y: np.ndarray, *, config: DetectorConfig) -> tf.data.Dataset:
    images = tf.constant(x[..., None], dtype=tf.float32)
    labels = tf.constant(y[:, None], dtype=tf.float32)
    count = len(x)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(tf.range(count), seed=tf.stack([tf.cast(config.seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(config.batch_size).enumerate().map(
            lambda step, index: (epoch, step, index)
        )

    def make_batch(epoch, step, index):
        seed = tf.stack([epoch * 100_003 + step, tf.cast(config.seed, tf.int64)])
        return augment_batch(tf.gather(images, index), seed, AugmentConfig()), tf.gather(labels, index)

    batches = tf.data.Dataset.range(config.epochs).flat_map(epoch_batches)
    return batches.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(4)


def _held_digits(mnist, config: DetectorConfig) -> tuple[np.ndarray, np.ndarray]:
    first = len(mnist.x_train) - VALIDATION_DIGITS
    held = slice(first, first + config.validation_digits)
    return mnist.x_train[held], mnist.y_train[held]


def validation_pictures(*, mnist, config: DetectorConfig) -> dict[str, np.ndarray]:
    """The pictures the thresholds are chosen on and the card reports: the held-out digits as
    training shows them (thinner, thicker, blurred, thresholded, low-resolution, stretched: they
    stand for writers and scanners MNIST lacks), and as many non-digits made from them and from
    the held-out fonts."""
    held_digits, held_labels = _held_digits(mnist, config)
    glyphs, fonts = load_glyphs()
    held_styled = with_european_styles(held_digits, held_labels, fraction=0.2, seed=config.seed + 1, hooked_nines=0.35)
    held_non_digits = non_digits(held_digits, count=len(held_digits), seed=config.seed + 1,
                                 glyphs=glyphs[np.isin(fonts, VALIDATION_FONTS)])
    return {
        "valid_digits": calibration_pictures(
            as_small_scans(held_styled, share=config.small_scans, seed=config.seed + 3), held_labels,
            seed=config.seed + 2, count=len(held_styled))[0],
        "valid_non_digits": as_small_scans(held_non_digits, share=config.small_scans, seed=config.seed + 4),
        "valid_scanned_digits": as_small_scans(held_styled, share=1.0, seed=config.seed + 6),
    }


def training_data(*, data_path: str | Path | None, config: DetectorConfig) -> dict[str, np.ndarray]:
    """Training and validation pictures (label 1: one digit) from MNIST train and the glyphs, and
    the runs the segmenter weighs in numbers written from them."""
    mnist = load_mnist(path=data_path)
    digits, labels = mnist.x_train[:-VALIDATION_DIGITS][: config.train_limit], mnist.y_train[:-VALIDATION_DIGITS][: config.train_limit]
    held_digits, _ = _held_digits(mnist, config)
    glyphs, fonts = load_glyphs()
    held_font = np.isin(fonts, VALIDATION_FONTS)
    styled = with_european_styles(digits, labels, fraction=0.2, seed=config.seed, hooked_nines=0.35)
    negatives = non_digits(digits, count=int(len(digits) * config.negatives_per_digit), seed=config.seed,
                           glyphs=glyphs[~held_font])
    runs, run_labels = np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.float32)
    held_runs, held_run_labels = runs, run_labels
    if config.segmentation_numbers:
        score = bundled_scorer()
        runs, run_labels = segmentation_examples(digits, count=config.segmentation_numbers, seed=config.seed,
                                                 score=score)
        held_runs, held_run_labels = segmentation_examples(
            held_digits, count=max(config.segmentation_numbers // 6, 1), seed=config.seed + 1, score=score)
    pictures = as_small_scans(np.concatenate([styled, negatives]), share=config.small_scans, seed=config.seed + 5)
    return {
        "x": np.concatenate([pictures, runs]),
        "y": np.concatenate([np.ones(len(styled)), np.zeros(len(negatives)), run_labels]).astype(np.float32),
        **validation_pictures(mnist=mnist, config=config),
        "valid_runs": held_runs,
        "valid_run_labels": held_run_labels,
    }


def export_detector(model: keras.Model, *, path: Path, quantized: bool) -> None:
    """The trained network as a LiteRT file with one signature (input `image`, output
    OUTPUT_NAME); `quantized`: its weights in 8-bit integers, which XNNPACK runs about as fast as
    a network of a third of the width in float."""
    write_litert(keras.Model(model.input, {OUTPUT_NAME: model.output}), path=path, quantized=quantized)


def litert_scores(path: Path, pictures: np.ndarray) -> np.ndarray:
    """The LiteRT network's scores for 28×28 pictures, computed as serving computes them."""
    network = NetworkScores(path=path)
    return np.array([network.score(picture) for picture in pictures])


def choose_threshold(digit_scores: np.ndarray, *, refused_digits: float) -> float:
    """The score below which a picture is refused: low enough that at most `refused_digits` of
    the validation digits fall under it."""
    return float(np.quantile(digit_scores, refused_digits))


def thresholds(*, digit_scores: np.ndarray, other_scores: np.ndarray, config: DetectorConfig) -> dict:
    """The card's thresholds, chosen on the validation digits' scores, and what they do to the
    validation digits and non-digits."""
    threshold = choose_threshold(digit_scores, refused_digits=config.refused_digits)
    unsure_below = choose_threshold(digit_scores, refused_digits=config.doubted_digits)
    return {
        "threshold": round(threshold, 6),
        "unsure_below": round(unsure_below, 6),
        "validation": {
            "digits": int(len(digit_scores)),
            "digits_refused": round(float(np.mean(digit_scores < threshold)), 6),
            "non_digits": int(len(other_scores)),
            "non_digits_refused": round(float(np.mean(other_scores < threshold)), 6),
            "digits_doubted": round(float(np.mean(digit_scores < unsure_below)), 6),
            "non_digits_doubted": round(float(np.mean(other_scores < unsure_below)), 6),
        },
    }


def rechoose_thresholds(*, directory: Path, data_path: str | Path | None, config: DetectorConfig,
                        name: str = DETECTOR) -> dict:
    """Choose a trained network's thresholds anew by `config`'s shares (after a change of them),
    on the scores of its LiteRT file, the network that serves, for the validation pictures it was
    trained beside (its card's seed); the rest of its card is kept."""
    filename, card_name = network_files(name)
    card = json.loads((directory / card_name).read_text())
    # A card written before pictures were shown as 16×16 scans (the bundled segment scorer's) has no share.
    trained_with = replace(config, seed=card["config"]["seed"], validation_digits=card["config"]["validation_digits"],
                           small_scans=card["config"].get("small_scans", 0.0))
    pictures = validation_pictures(mnist=load_mnist(path=data_path), config=trained_with)
    chosen = thresholds(digit_scores=litert_scores(directory / filename, pictures["valid_digits"]),
                        other_scores=litert_scores(directory / filename, pictures["valid_non_digits"]), config=config)
    card.update(threshold=chosen["threshold"], unsure_below=chosen["unsure_below"],
                validation={**card["validation"], **chosen["validation"]},
                config={**card["config"], "refused_digits": config.refused_digits,
                        "doubted_digits": config.doubted_digits},
                thresholds_chosen=f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d}, on the augmented validation digits' "
                "scores by the served network (train_detector --rechoose-thresholds), without retraining")
    (directory / card_name).write_text(json.dumps(card, indent=2) + "\n")
    return card


def train_detector(
    *, output_dir: Path, data_path: str | Path | None, config: DetectorConfig, verbose: int = 1,
    name: str = DETECTOR,
) -> dict:
    """Train, choose the refusal threshold on validation data, export LiteRT, write the card
    (`name`: the detector, or the segment scorer when `config.segmentation_numbers` is set)."""
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    data = training_data(data_path=data_path, config=config)
    steps = int(np.ceil(len(data["x"]) / config.batch_size))
    model = build_detector(filters=config.filters, dense=config.dense)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(config.learning_rate, steps * config.epochs)),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(_batches(data["x"], data["y"], config=config), epochs=config.epochs, steps_per_epoch=steps, verbose=verbose)
    output_dir.mkdir(parents=True, exist_ok=True)
    filename, card_name = network_files(name)
    path = output_dir / filename
    export_detector(model, path=path, quantized=config.quantized)
    digit_scores = litert_scores(path, data["valid_digits"])
    other_scores = litert_scores(path, data["valid_non_digits"])
    run_scores = litert_scores(path, data["valid_runs"])
    scan_scores = litert_scores(path, data["valid_scanned_digits"])
    whole = data["valid_run_labels"] == 1
    chosen = thresholds(digit_scores=digit_scores, other_scores=other_scores, config=config)
    card = {
        **chosen,
        "validation": {
            **chosen["validation"],
            # Every validation digit as a 16×16 scan (`small_scan`), as USPS and Semeion upload.
            "scanned_digits_refused": round(float(np.mean(scan_scores < chosen["threshold"])), 6),
            "scanned_digits_doubted": round(float(np.mean(scan_scores < chosen["unsure_below"])), 6),
            # The segmenter's runs in numbers written from validation digits (segment scorer only):
            # whole digits should pass, parts and pairs score low.
            "runs_whole": int(whole.sum()),
            "runs_whole_below_half": round(float(np.mean(run_scores[whole] < 0.5)), 6) if whole.any() else None,
            "runs_broken": int((~whole).sum()),
            "runs_broken_below_half": round(float(np.mean(run_scores[~whole] < 0.5)), 6) if (~whole).any() else None,
        },
        "config": asdict(config),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training_seconds": round(time.monotonic() - started, 1),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    (output_dir / card_name).write_text(json.dumps(card, indent=2) + "\n")
    return card
