"""Training the base model from MNIST: the recipe behind `manage.py train_base`."""

from __future__ import annotations

import datetime as dt
import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from training.augment import AugmentConfig, augment_batch
from training.calibration import model_temperature
from training.evaluation import evaluate_model, missed_goals
from training.export import export_tflite
from training.mnist import VALIDATION_DIGITS, file_sha256, load_mnist
from training.network import build_ensemble, build_model
from training.scans import as_small_scans
from training.styles import with_european_styles

MODEL_FILENAME = "model.keras"
TFLITE_FILENAME = "model.tflite"
CARD_FILENAME = "model_card.json"


@dataclass
class TrainConfig:
    epochs: int = 14
    batch_size: int = 128
    peak_learning_rate: float = 3e-3
    warmup_epochs: float = 1.0
    weight_decay: float = 1e-4
    seed: int = 1
    european_styles: float = 0.2  # share of ones given a flag and of sevens a crossbar
    hooked_nines: float = 0.35  # share of nines given a hooked tail (docs/model.md, "Looking for a margin")
    #: Share of the training digits shown as the server sees them uploaded as 16×16 scans
    #: (`training.scans`): stretched to fill the square, a "1" becomes a slab no affine
    #: augmentation makes. A quarter, as the detector sees, chosen over none on validation
    #: (docs/model.md, "The classifier learns 16×16 scans").
    small_scans: float = 0.25
    #: Keep the last VALIDATION_DIGITS training digits out, to choose a recipe on them; the model
    #: that is bundled is then trained on all of them.
    hold_out_validation: bool = False
    #: Networks trained, from seeds `seed`, `seed` + 1, …, and served as one, their probabilities
    #: averaged (`training.network.build_ensemble`). Two, chosen on validation (docs/model.md,
    #: "Two networks").
    members: int = 2
    train_limit: int | None = None  # a slice of the training set, for tests
    test_limit: int | None = None
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def augmented_batches(
    x: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int, seed: int, augment: AugmentConfig
) -> tf.data.Dataset:
    """Shuffled, augmented batches for `epochs` epochs; every random draw derives from the seed and
    the batch index, so a run is reproducible. Shared by train_base and finetune."""
    images = tf.constant(x[..., None], dtype=tf.float32)
    labels = tf.constant(y, dtype=tf.int32)
    count = len(x)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count), seed=tf.stack([tf.cast(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size).enumerate().map(
            lambda step, index: (epoch, step, index)
        )

    def make_batch(epoch, step, index):
        batch_seed = tf.stack([epoch * 100_003 + step, tf.cast(seed, tf.int64)])
        batch = augment_batch(tf.gather(images, index), batch_seed, augment)
        return batch, tf.gather(labels, index)

    batches = tf.data.Dataset.range(epochs).flat_map(epoch_batches)
    return batches.map(make_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(4)


def _schedule(steps_per_epoch: int, config: TrainConfig) -> keras.optimizers.schedules.LearningRateSchedule:
    total = steps_per_epoch * config.epochs
    warmup = int(steps_per_epoch * config.warmup_epochs)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.peak_learning_rate / 10,
        decay_steps=max(total - warmup, 1),
        alpha=0.002,
        warmup_target=config.peak_learning_rate,
        warmup_steps=warmup,
    )


def evaluate_accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    probabilities = model.predict(x[..., None].astype("float32"), batch_size=1000, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == y))


def training_pictures(*, x: np.ndarray, y: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training digits as the recipe shows them: without the validation digits when they
    are held out, styled (European ones and sevens, hooked nines) and a share as 16×16 scans."""
    if config.hold_out_validation:
        x, y = x[:-VALIDATION_DIGITS], y[:-VALIDATION_DIGITS]
    if config.train_limit:
        x, y = x[: config.train_limit], y[: config.train_limit]
    x = with_european_styles(x, y, fraction=config.european_styles, seed=config.seed, hooked_nines=config.hooked_nines)
    return as_small_scans(x, share=config.small_scans, seed=config.seed + 2), y


def fit_network(
    *, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, config: TrainConfig, verbose: int
) -> keras.Model:
    """One network trained by the recipe from `config.seed`."""
    keras.utils.set_random_seed(config.seed)
    steps_per_epoch = int(np.ceil(len(x_train) / config.batch_size))
    model = build_model()
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=_schedule(steps_per_epoch, config), weight_decay=config.weight_decay
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        augmented_batches(
            x_train, y_train, epochs=config.epochs, batch_size=config.batch_size, seed=config.seed,
            augment=config.augment,
        ),
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        shuffle=False,  # the dataset shuffles itself, reproducibly
        validation_data=(x_test[..., None].astype("float32"), y_test),
        validation_freq=max(config.epochs // 3, 1),
        verbose=verbose,
    )
    return model


def train_base(
    *,
    output_dir: Path,
    data_path: str | Path | None,
    config: TrainConfig,
    command_line: str = "",
    progress: Callable[[str], None] = lambda message: None,
    verbose: int = 1,
) -> dict:
    """Train `config.members` networks (seeds `config.seed`, `config.seed` + 1, …), evaluate on
    MNIST test, write the model (their ensemble when more than one) + LiteRT export + model card;
    return the card."""
    started = time.monotonic()
    data = load_mnist(path=data_path)
    x_test, y_test = data.x_test, data.y_test
    if config.test_limit:
        x_test, y_test = x_test[: config.test_limit], y_test[: config.test_limit]
    networks, members = [], []
    for index in range(config.members):
        member_config = replace(config, seed=config.seed + index)
        progress(f"Network {index + 1} of {config.members}, seed {member_config.seed}")
        member_started = time.monotonic()
        x_train, y_train = training_pictures(x=data.x_train, y=data.y_train, config=member_config)
        if index == 0:  # the recipe's own pictures (seed `config.seed`): the temperature is fitted on them
            x_first, y_first = x_train, y_train
        network = fit_network(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, config=member_config,
                              verbose=verbose)
        networks.append(network)
        members.append({"seed": member_config.seed, "test_accuracy": round(evaluate_accuracy(network, x_test, y_test), 6),
                        "training_seconds": round(time.monotonic() - member_started, 1)})
    model = networks[0] if len(networks) == 1 else build_ensemble(networks)
    test_accuracy = evaluate_accuracy(model, x_test, y_test)

    output_dir.mkdir(parents=True, exist_ok=True)
    model.save(output_dir / MODEL_FILENAME)
    tflite_path = export_tflite(model=model, path=output_dir / TFLITE_FILENAME)
    temperature = model_temperature(model, x_first, y_first, seed=config.seed + 1)
    served = evaluate_model(
        model_dir=output_dir,
        x_test=x_test,
        y_test=y_test,
        mnist_path=data.source if data.sha256 else None,
    )
    card = {
        "version": f"base-{file_sha256(tflite_path)[:10]}",
        "name": model.name,
        "test_accuracy": round(test_accuracy, 6),
        "served_accuracy": served,
        "missed_goals": missed_goals(served),
        "temperature": temperature,
        "test_images": int(len(x_test)),
        "train_images": int(len(x_first)),
        "dataset": {"source": data.source, "sha256": data.sha256},
        "parameters": int(model.count_params()),
        "seed": config.seed,
        "members": members,
        "config": asdict(config),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training_seconds": round(time.monotonic() - started, 1),
        "command_line": command_line,
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
    }
    (output_dir / CARD_FILENAME).write_text(json.dumps(card, indent=2) + "\n")
    return card
