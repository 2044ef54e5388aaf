"""The line reader: a small network that reads a blob of touching digits whole (CTC).

The segmenter parts touching digits by cuts from top to bottom; where digits interlock, no such
cut exists and the pieces hold ink of two digits. The line reader sees the blob as one picture
(`predictor.line_reading.line_picture`), scores each of its narrow column bands as a digit or as
nothing, and is trained with connectionist temporal classification (CTC) on touching and close
numbers of 1–5 digits (or 1–6, `longest`) written from MNIST training digits, never the last
VALIDATION_DIGITS (kept for validation) nor any test set. Three are trained once by
`train_line_reader` and bundled beside the base model, to vote (`predictor.line_reading.LineReaders`);
finetuning does not change them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from scipy import ndimage

from predictor.line_reading import BLANK, LINE_HEIGHT, LINE_WIDTH, LineReader, decode, line_picture
from training.detector import VALIDATION_DIGITS, VALIDATION_FONTS, small_scan
from training.export import write_litert
from training.mnist import load_mnist
from training.negatives import load_glyphs, scribble
from training.number_pictures import compose

#: How often a training blob holds 1, 2, … digits, by the longest it may hold (`LineReaderConfig.longest`):
#: up to five, or up to the six of the longest numbers the app is asked to read.
LENGTH_SHARES = {5: (0.1, 0.35, 0.3, 0.15, 0.1), 6: (0.1, 0.2, 0.2, 0.2, 0.15, 0.15)}
MAX_LENGTH = max(LENGTH_SHARES)
#: What `train_line_reader` writes: `<name>.tflite` and `<name>_card.json`.
OUTPUT_NAME = "line_reader"


@dataclass
class LineReaderConfig:
    examples: int = 200_000
    validation_examples: int = 3_000
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 1
    #: The share of digits shown as the server sees a 16×16 scan (USPS's and Semeion's kind).
    small_scans: float = 0.4
    #: The share of blobs whose digits merely come close instead of touching.
    close: float = 0.25
    #: The share of blobs that hold no digit (letters and signs of the training fonts, doodles),
    #: read as nothing: a letter cut into strokes must not be read as digits because the line
    #: reader, never shown one, took it for some.
    non_digits: float = 0.15
    #: The most digits a training blob holds (a key of LENGTH_SHARES).
    longest: int = 5
    train_limit: int | None = None  # a slice of the training digits, for tests


def line_example(digits: list[np.ndarray], *, rng: np.random.Generator, spacing: str) -> np.ndarray:
    """One blob of `digits` (28×28, white on black) written side by side at a random size, its
    strokes thinner, thicker, blurred or thresholded now and then, as a `line_picture`."""
    height = int(rng.integers(36, 100))
    ink, _ = compose(digits, rng=rng, spacing=spacing, height=height)
    change = rng.random()
    if change < 0.2:
        ink = ndimage.grey_dilation(ink, size=(2, 2))
    elif change < 0.35:
        ink = ndimage.grey_erosion(ink, size=(2, 2)) if height > 60 else ink
    if rng.random() < 0.25:
        ink = ndimage.gaussian_filter(ink, rng.uniform(0.4, 1.2))
    if rng.random() < 0.2:
        ink = (ink > rng.uniform(0.3, 0.6)).astype(float)
    return line_picture(ink=ink, mask=ink > 0)  # composed ink has no background: every inked pixel is the blob's


def _non_digit(glyphs: np.ndarray, *, rng: np.random.Generator) -> np.ndarray:
    """One or two letters, signs or doodles (28×28, white on black), side by side as a blob."""
    marks = []
    while len(marks) < (1 if rng.random() < 0.6 else 2):
        mark = glyphs[rng.integers(len(glyphs))] if rng.random() < 0.7 or not len(glyphs) else scribble(rng=rng)
        if mark is not None and mark.max() > 20:
            marks.append(mark)
    return line_example(marks, rng=rng, spacing="touching")


def line_examples(images: np.ndarray, labels: np.ndarray, *, count: int, seed: int, small_scans: float,
                  close: float, non_digits: float = 0.0, glyphs: np.ndarray | None = None, longest: int = 5,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count` line pictures of blobs of 1‥`longest` digits, their labels (padded with BLANK to
    MAX_LENGTH) and label lengths; `non_digits` of them letters and signs of `glyphs` or doodles,
    labelled with no digit."""
    shares = LENGTH_SHARES[longest]
    rng = np.random.default_rng(seed)
    pictures = np.zeros((count, LINE_HEIGHT, LINE_WIDTH), np.uint8)
    targets = np.full((count, MAX_LENGTH), BLANK, np.int32)
    lengths = np.zeros(count, np.int32)
    glyphs = np.zeros((0, 28, 28), np.uint8) if glyphs is None else glyphs
    for index in range(count):
        if rng.random() < non_digits:
            pictures[index] = _non_digit(glyphs, rng=rng)
            continue
        length = int(rng.choice(np.arange(1, longest + 1), p=shares))
        chosen = rng.choice(len(images), size=length, replace=False)
        digits = [small_scan(images[i], rng=rng) if rng.random() < small_scans else images[i] for i in chosen]
        spacing = "close" if rng.random() < close else "touching"
        pictures[index] = line_example(digits, rng=rng, spacing=spacing)
        targets[index, :length] = labels[chosen]
        lengths[index] = length
    return pictures, targets, lengths


def build_line_reader() -> keras.Model:
    """Column bands of a LINE_HEIGHT × LINE_WIDTH picture (a band 4 px wide), each scored as 11
    classes (logits; the ten digits, then BLANK)."""
    picture = keras.Input((LINE_HEIGHT, LINE_WIDTH, 1), name="line")
    x = layers.Rescaling(1 / 255)(picture)
    for filters, pool in ((16, (2, 2)), (32, (2, 2)), (64, (2, 1)), (64, (2, 1))):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(pool)(x)
    # (2, 32, 64): the remaining rows of each band go into one vector per band.
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((LINE_WIDTH // 4, -1))(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Conv1D(128, 5, padding="same", activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    logits = layers.Dense(BLANK + 1, name="logits")(x)
    return keras.Model(picture, logits, name="line_reader")


def export_line_reader(model: keras.Model, *, path: Path) -> None:
    """As LiteRT, one signature: input `line`, output `bands` (softmax per band), weights in 8 bits."""
    write_litert(keras.Model(model.input, {"bands": layers.Softmax()(model.output)}), path=path, quantized=True)


def exact_share(reader: LineReader, pictures: np.ndarray, targets: np.ndarray, lengths: np.ndarray) -> float:
    right = [decode(reader.scores(picture)).digits == "".join(map(str, target[:length]))
             for picture, target, length in zip(pictures, targets, lengths)]
    return float(np.mean(right))


def train_line_reader(*, output_dir: Path, data_path: str | Path | None, config: LineReaderConfig,
                      progress=print) -> dict:
    """Train on line pictures from MNIST training digits, measure on pictures from the held-out
    ones, export LiteRT and write the card."""
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    mnist = load_mnist(path=data_path)
    images = mnist.x_train[:-VALIDATION_DIGITS][: config.train_limit]
    labels = mnist.y_train[:-VALIDATION_DIGITS][: config.train_limit]
    held_images, held_labels = mnist.x_train[-VALIDATION_DIGITS:], mnist.y_train[-VALIDATION_DIGITS:]
    glyphs, fonts = load_glyphs()
    held_font = np.isin(fonts, VALIDATION_FONTS)
    x, y, lengths = line_examples(images, labels, count=config.examples, seed=config.seed,
                                  small_scans=config.small_scans, close=config.close,
                                  non_digits=config.non_digits, glyphs=glyphs[~held_font], longest=config.longest)
    vx, vy, vlengths = line_examples(held_images, held_labels, count=config.validation_examples, seed=config.seed + 1,
                                     small_scans=config.small_scans, close=config.close, longest=config.longest)
    nx, _, _ = line_examples(held_images, held_labels, count=config.validation_examples // 3, seed=config.seed + 2,
                             small_scans=0.0, close=0.0, non_digits=1.0, glyphs=glyphs[held_font])
    progress(f"{len(x)} training and {len(vx)} validation pictures in {time.monotonic() - started:.0f} s")
    model = build_line_reader()
    steps = int(np.ceil(len(x) / config.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, steps * config.epochs)
    optimizer = keras.optimizers.Adam(schedule)
    bands = LINE_WIDTH // 4

    @tf.function(reduce_retracing=True)
    def step(pictures, targets, target_lengths):
        with tf.GradientTape() as tape:
            logits = model(pictures[..., None], training=True)
            loss = tf.reduce_mean(tf.nn.ctc_loss(
                labels=targets, logits=logits, label_length=target_lengths,
                logit_length=tf.fill([tf.shape(pictures)[0]], bands), logits_time_major=False, blank_index=BLANK))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    rng = np.random.default_rng(config.seed)
    for epoch in range(config.epochs):
        order = rng.permutation(len(x))
        losses = []
        for start in range(0, len(x), config.batch_size):
            batch = order[start : start + config.batch_size]
            shift = rng.integers(-1, 2)  # a pixel up or down: where the ink sits is no clue
            pictures = np.roll(x[batch], shift, axis=1).astype(np.float32)
            losses.append(float(step(pictures, y[batch], lengths[batch])))
        progress(f"epoch {epoch + 1}/{config.epochs}: CTC loss {np.mean(losses):.4f} "
                 f"({time.monotonic() - started:.0f} s)")
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{OUTPUT_NAME}.tflite"
    export_line_reader(model, path=path)
    reader = LineReader(path=path)
    by_length = {str(length): round(exact_share(reader, vx[vlengths == length], vy[vlengths == length],
                                                vlengths[vlengths == length]), 4)
                 for length in range(1, config.longest + 1) if (vlengths == length).any()}
    card = {
        "validation": {"pictures": int(len(vx)), "exact": round(exact_share(reader, vx, vy, vlengths), 4),
                       "exact_by_length": by_length,
                       # Letters of the held-out fonts and doodles: read as no digit at all.
                       "non_digits": int(len(nx)),
                       "non_digits_read_as_nothing": round(float(np.mean([decode(reader.scores(p)).digits == ""
                                                                          for p in nx])), 4)},
        "config": asdict(config),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training_seconds": round(time.monotonic() - started, 1),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    (output_dir / f"{OUTPUT_NAME}_card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card
