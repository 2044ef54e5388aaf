"""The line reader: a small network that reads a blob of touching digits whole (CTC).

The segmenter parts touching digits by cuts from top to bottom; where digits interlock, no such
cut exists and the pieces hold ink of two digits. The line reader sees the blob as one picture
(`predictor.line_reading.line_picture`), scores each of its narrow column bands as a digit or as
nothing, and is trained with connectionist temporal classification (CTC) on touching and close
numbers of 1–5 digits (or 1–6, `longest`) written from MNIST training digits, never the last
VALIDATION_DIGITS (kept for validation) nor any test set. Three are trained once by
`train_line_reader` and bundled beside the base model, to vote (`predictor.line_reading.LineReaders`);
finetuning does not change them.

Fitting uses only Keras, so it runs on any Keras backend (on a GPU with `KERAS_BACKEND=jax`, far
faster than on the CPU; docs/model.md, "Line readers fitted on a GPU"); exporting to LiteRT needs
TensorFlow.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops
from scipy import ndimage

from predictor.line_reading import BLANK, LINE_HEIGHT, LINE_WIDTH, LineReader, decode, line_picture
from training.detector import VALIDATION_FONTS
from training.export import write_litert
from training.mnist import VALIDATION_DIGITS, load_mnist
from training.negatives import load_glyphs, scribble
from training.number_pictures import compose
from training.scans import small_scan

#: How often a training blob holds 1, 2, … digits, by the longest it may hold (`LineReaderConfig.longest`):
#: up to five, or up to the six of the longest numbers the app is asked to read.
LENGTH_SHARES = {5: (0.1, 0.35, 0.3, 0.15, 0.1), 6: (0.1, 0.2, 0.2, 0.2, 0.15, 0.15)}
MAX_LENGTH = max(LENGTH_SHARES)
#: What `train_line_reader` writes: `<name>.tflite` and `<name>_card.json`.
OUTPUT_NAME = "line_reader"
#: Training pictures are drawn in chunks of this many, each from a seed of its own, so that
#: processes can draw them side by side and the pictures do not depend on how many did.
CHUNK = 10_000
#: The network's layers by the width of its column bands (px of the line picture): how much each
#: of the four pooling steps narrows the picture, and the reach of the last convolution in bands
#: (about 20 px of the picture either way).
BAND_LAYOUTS = {4: {"column_pools": (2, 2, 1, 1), "reach": 5}, 2: {"column_pools": (2, 1, 1, 1), "reach": 9}}


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
    #: The width of the column bands it scores, in px of the line picture (a key of BAND_LAYOUTS);
    #: 2 px bands were tried for narrow digits written close, and read no better (docs/model.md).
    band: int = 4
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


def build_line_reader(*, band: int = 4) -> keras.Model:
    """Column bands of a LINE_HEIGHT × LINE_WIDTH picture (each `band` px wide), each scored as 11
    classes (logits; the ten digits, then BLANK)."""
    layout = BAND_LAYOUTS[band]
    picture = keras.Input((LINE_HEIGHT, LINE_WIDTH, 1), name="line")
    x = layers.Rescaling(1 / 255)(picture)
    for filters, column_pool in zip((16, 32, 64, 64), layout["column_pools"]):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D((2, column_pool))(x)
    # (2, bands, 64): the remaining rows of each band go into one vector per band.
    x = layers.Permute((2, 1, 3))(x)
    x = layers.Reshape((LINE_WIDTH // band, -1))(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Conv1D(128, layout["reach"], padding="same", activation="relu")(x)
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


def _chunk(args: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One chunk of `line_examples_in_chunks`, in whichever process draws it."""
    images, labels, count, seed, options = args
    return line_examples(images, labels, count=count, seed=seed, **options)


def line_examples_in_chunks(images: np.ndarray, labels: np.ndarray, *, count: int, seed: int, processes: int = 1,
                            **options) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`line_examples` drawn in chunks of CHUNK, chunk k from the seed (`seed`, k), by up to
    `processes` processes side by side; the same pictures however many draw them."""
    sizes = [min(CHUNK, count - start) for start in range(0, count, CHUNK)]
    jobs = [(images, labels, size, [seed, index], options) for index, size in enumerate(sizes)]
    if processes > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(min(processes, len(jobs))) as pool:
            parts = list(pool.map(_chunk, jobs))
    else:
        parts = [_chunk(job) for job in jobs]
    return tuple(np.concatenate(arrays) for arrays in zip(*parts))


@dataclass
class LineReaderData:
    """Training pictures (x, y, lengths), validation blobs of the held-out digits (vx, vy,
    vlengths) and validation non-digits of the held-out fonts (nx)."""

    x: np.ndarray
    y: np.ndarray
    lengths: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    vlengths: np.ndarray
    nx: np.ndarray


def line_reader_data(*, data_path: str | Path | None, config: LineReaderConfig, processes: int = 1) -> LineReaderData:
    """The pictures `config` asks for, from MNIST training digits and the training fonts; the last
    VALIDATION_DIGITS and VALIDATION_FONTS only for validation."""
    mnist = load_mnist(path=data_path)
    images = mnist.x_train[:-VALIDATION_DIGITS][: config.train_limit]
    labels = mnist.y_train[:-VALIDATION_DIGITS][: config.train_limit]
    held_images, held_labels = mnist.x_train[-VALIDATION_DIGITS:], mnist.y_train[-VALIDATION_DIGITS:]
    glyphs, fonts = load_glyphs()
    held_font = np.isin(fonts, VALIDATION_FONTS)
    x, y, lengths = line_examples_in_chunks(images, labels, count=config.examples, seed=config.seed,
                                            processes=processes, small_scans=config.small_scans, close=config.close,
                                            non_digits=config.non_digits, glyphs=glyphs[~held_font],
                                            longest=config.longest)
    vx, vy, vlengths = line_examples(held_images, held_labels, count=config.validation_examples, seed=config.seed + 1,
                                     small_scans=config.small_scans, close=config.close, longest=config.longest)
    nx, _, _ = line_examples(held_images, held_labels, count=config.validation_examples // 3, seed=config.seed + 2,
                             small_scans=0.0, close=0.0, non_digits=1.0, glyphs=glyphs[held_font])
    return LineReaderData(x, y, lengths, vx, vy, vlengths, nx)


def ctc_loss(targets, logits):
    """The CTC loss of per-band logits against digits padded with BLANK, one value per blob."""
    targets = ops.cast(targets, "int32")
    target_lengths = ops.sum(ops.cast(ops.not_equal(targets, BLANK), "int32"), axis=1)
    logit_lengths = ops.full((ops.shape(logits)[0],), ops.shape(logits)[1], dtype="int32")
    return ops.ctc_loss(targets, logits, target_lengths, logit_lengths, mask_index=BLANK)


class ShiftedBatches(keras.utils.PyDataset):
    """The training pictures in a new order each epoch, each batch moved a pixel up or down at
    random: where the ink sits is no clue."""

    def __init__(self, x: np.ndarray, y: np.ndarray, *, batch_size: int, seed: int):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        batch = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        shift = self.rng.integers(-1, 2)
        return np.roll(self.x[batch], shift, axis=1)[..., None].astype(np.float32), self.y[batch]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.x))


def fit_line_reader(data: LineReaderData, *, config: LineReaderConfig, progress=print) -> keras.Model:
    """A line reader fitted to `data.x` (any Keras backend), its loss reported each epoch."""
    started = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    model = build_line_reader(band=config.band)
    batches = ShiftedBatches(data.x, data.y, batch_size=config.batch_size, seed=config.seed)
    schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, len(batches) * config.epochs)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=ctc_loss)

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            progress(f"epoch {epoch + 1}/{config.epochs}: CTC loss {logs['loss']:.4f} "
                     f"({time.monotonic() - started:.0f} s)")

    model.fit(batches, epochs=config.epochs, verbose=0, callbacks=[Progress()])
    return model


def export_with_card(model: keras.Model, data: LineReaderData, *, output_dir: Path, config: LineReaderConfig,
                     training_seconds: float) -> dict:
    """Export `model` as LiteRT (needs TensorFlow), measure it on the validation blobs and write
    the card beside it."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{OUTPUT_NAME}.tflite"
    export_line_reader(model, path=path)
    reader = LineReader(path=path)
    by_length = {str(length): round(exact_share(reader, data.vx[data.vlengths == length],
                                                data.vy[data.vlengths == length],
                                                data.vlengths[data.vlengths == length]), 4)
                 for length in range(1, config.longest + 1) if (data.vlengths == length).any()}
    card = {
        "validation": {"pictures": int(len(data.vx)), "exact": round(exact_share(reader, data.vx, data.vy,
                                                                                 data.vlengths), 4),
                       "exact_by_length": by_length,
                       # Letters of the held-out fonts and doodles: read as no digit at all.
                       "non_digits": int(len(data.nx)),
                       "non_digits_read_as_nothing": round(float(np.mean([decode(reader.scores(p)).digits == ""
                                                                          for p in data.nx])), 4)},
        "config": asdict(config),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training_seconds": round(training_seconds, 1),
        "versions": {"keras": keras.__version__, "backend": keras.backend.backend()},
    }
    (output_dir / f"{OUTPUT_NAME}_card.json").write_text(json.dumps(card, indent=2) + "\n")
    return card


def train_line_reader(*, output_dir: Path, data_path: str | Path | None, config: LineReaderConfig,
                      processes: int = 1, progress=print) -> dict:
    """Train on line pictures from MNIST training digits, measure on pictures from the held-out
    ones, export LiteRT and write the card."""
    started = time.monotonic()
    data = line_reader_data(data_path=data_path, config=config, processes=processes)
    progress(f"{len(data.x)} training and {len(data.vx)} validation pictures in {time.monotonic() - started:.0f} s")
    model = fit_line_reader(data, config=config, progress=progress)
    return export_with_card(model, data, output_dir=output_dir, config=config,
                            training_seconds=time.monotonic() - started)
