"""Finetuning the active model on approved feedback, and promoting it only if it is better.

The recipe: hold back a stable slice of the approved records for evaluation; train the active
model on the rest, repeated and mixed with MNIST replay (so it keeps what MNIST taught it), with
the same augmentation as the base model, at a low learning rate. The candidate is promoted only if
its MNIST test accuracy drops by at most `max_mnist_drop`, no digit loses more than
`max_class_drop`, and a paired test on the held-back records finds it no worse than its parent;
otherwise it is kept as rejected, with the reason. Too few held-back records to judge by is "not
enough evidence": nothing is trained. The records are put in an order of their content first, so
the same records give the same model and decision whatever order they were approved in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings

from feedback.models import Feedback
from modelfiles import local_model_file
from predictor.preprocessing import ImageRejected, preprocess
from training.augment import AugmentConfig
from training.evaluation import litert_probabilities
from training.models import ModelVersion
from training.registry import ActiveVersionChanged, activate, register_bundled_model, register_model


@dataclass
class FinetuneConfig:
    min_records: int = 20
    epochs: int = 6
    learning_rate: float = 3e-4
    batch_size: int = 128
    holdout_fraction: float = 0.2
    feedback_repeats: int = 6  # each training record is shown this often per epoch (augmented)
    replay_ratio: float = 1.0  # MNIST training images per feedback image shown
    max_mnist_drop: float = 0.002  # 0.2 percentage points
    max_class_drop: float = 0.01  # no digit may lose more than 1 pp on MNIST test or held-back feedback
    min_class_records: int = 20  # a digit with fewer held-back records than this is not judged alone
    min_holdout_records: int = 30  # fewer held-back records than this cannot judge a candidate
    significance: float = 0.05  # the paired test's one-sided level for "the candidate reads them worse"
    seed: int = 1
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass(frozen=True)
class PairedOutcome:
    """Parent and candidate on the same held-back records: only the records they disagree on tell
    them apart (McNemar's exact test)."""

    records: int
    only_parent_right: int  # the candidate reads these wrong, the parent right
    only_candidate_right: int
    p_worse: float  # one-sided: the chance of a split at least this bad if both were equally good
    significance: float

    @property
    def worse(self) -> bool:
        return self.p_worse < self.significance

    def describe(self) -> str:
        return (f"held-back records read differently: {self.only_candidate_right} now right, "
                f"{self.only_parent_right} now wrong, of {self.records} (paired test: p = {self.p_worse:.3f} "
                f"that a candidate as good as its parent loses this many; worse below {self.significance})")


def paired_outcome(*, parent_right: np.ndarray, candidate_right: np.ndarray, significance: float) -> PairedOutcome:
    """Whether the candidate reads the held-back records worse than its parent, by the whole
    evidence rather than the difference of two accuracies, which one picture can flip."""
    from scipy.stats import binomtest

    lost = int(np.sum(parent_right & ~candidate_right))
    gained = int(np.sum(candidate_right & ~parent_right))
    p_worse = binomtest(lost, lost + gained, 0.5, alternative="greater").pvalue if lost + gained else 1.0
    return PairedOutcome(records=len(parent_right), only_parent_right=lost, only_candidate_right=gained,
                         p_worse=float(p_worse), significance=significance)


@dataclass
class FinetuneReport:
    status: str  # "too-few-records", "not-enough-evidence", "nothing-new", "dry-run", "promoted", "rejected", "stored"
    message: str
    records: int = 0
    trained_on: int = 0
    held_back: int = 0
    parent: str = ""
    candidate: str = ""
    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)
    paired: PairedOutcome | None = None
    candidate_sha256: str = ""  # of the candidate's LiteRT file: the same records and seed give the same
    seconds: float = 0.0

    @property
    def promoted(self) -> bool:
        return self.status == "promoted"

    def lines(self) -> list[str]:
        lines = [self.message]
        if self.before:
            lines.append(f"records: {self.records} approved, {self.trained_on} trained on, {self.held_back} held back")
            lines.append(f"{'':28}{'before':>10}{'after':>10}")
            for key, label in (("mnist_test_accuracy", "MNIST test"), ("feedback_holdout_accuracy", "held-back feedback")):
                after = f"{self.after[key]:.2%}" if key in self.after else "–"
                lines.append(f"{label:28}{self.before[key]:>10.2%}{after:>10}")
            if self.paired is not None:
                lines.append(self.paired.describe())
            lines.append(f"took {self.seconds:.1f} s")
        return lines


def promotion_problems(*, before: dict[str, float], after: dict[str, float], max_mnist_drop: float) -> list[str]:
    """Why a candidate must not serve by its MNIST test accuracy: it may drop by at most
    `max_mnist_drop` (held-back feedback is judged record by record, `paired_outcome`)."""
    problems = []
    mnist_drop = before["mnist_test_accuracy"] - after["mnist_test_accuracy"]
    if mnist_drop > max_mnist_drop + 1e-9:
        problems.append(f"MNIST test accuracy dropped {mnist_drop * 100:.2f} pp (limit {max_mnist_drop * 100:.2f} pp)")
    return problems


#: Per digit, how many pictures of it were read right and how many there were: {"7": [1019, 1028]}.
ClassCounts = dict[str, list[int]]


@dataclass(frozen=True)
class Judgement:
    """A model's figures as it serves (its LiteRT file)."""

    figures: dict[str, float]  # accuracy on MNIST test and on the held-back feedback
    classes: dict[str, ClassCounts]  # the same, counted per digit
    held_right: np.ndarray  # which held-back records it reads right


def mnist_digest(images: np.ndarray, labels: np.ndarray) -> str:
    """Names one MNIST test set, so figures measured on it are reused only for that very set."""
    return hashlib.sha256(np.ascontiguousarray(images).tobytes() + np.asarray(labels).tobytes()).hexdigest()[:16]


def stored_mnist_figures(version: ModelVersion, *, digest: str) -> dict | None:
    """A version's MNIST test figures as measured on its LiteRT file when it was judged before (as a
    candidate, or as an earlier parent), if on the same test set: {"accuracy", "classes"}."""
    judged = (version.metrics or {}).get("mnist_test_judged") or {}
    return judged if judged.get("digest") == digest else None


def judge(
    *, tflite_path: Path, mnist: tuple[np.ndarray, np.ndarray], held: tuple[np.ndarray, np.ndarray],
    known_mnist: dict | None = None,
) -> Judgement:
    """The model's figures; MNIST test's taken from `known_mnist` (stored_mnist_figures) when given."""
    sets = {"feedback_holdout": held} if known_mnist else {"mnist_test": mnist, "feedback_holdout": held}
    images = np.concatenate([images for images, _ in sets.values()])
    read = litert_probabilities(tflite_path=tflite_path, images=images).argmax(axis=1)
    figures, classes, right_by_set, start = {}, {}, {}, 0
    for name, (_, labels) in sets.items():
        right = read[start : start + len(labels)] == labels
        start += len(labels)
        figures[f"{name}_accuracy"] = float(right.mean()) if len(labels) else 0.0
        classes[name] = {str(digit): [int(right[labels == digit].sum()), int((labels == digit).sum())] for digit in range(10)}
        right_by_set[name] = right
    if known_mnist:
        figures["mnist_test_accuracy"], classes["mnist_test"] = known_mnist["accuracy"], known_mnist["classes"]
    return Judgement(figures=figures, classes=classes, held_right=right_by_set["feedback_holdout"])


def mnist_figures(judgement: Judgement, *, digest: str) -> dict:
    """What stored_mnist_figures reads back."""
    return {"digest": digest, "accuracy": judgement.figures["mnist_test_accuracy"],
            "classes": judgement.classes["mnist_test"]}


def class_problems(
    *, before: dict[str, ClassCounts], after: dict[str, ClassCounts], max_drop: float, min_records: int
) -> list[str]:
    """Why a candidate must not serve, digit by digit: one whose accuracy on MNIST test or on the
    held-back feedback fell by more than `max_drop` (a batch that teaches "7 is 1" loses the
    sevens), judged for digits with at least `min_records` pictures in that set."""
    problems = []
    for name, label in (("mnist_test", "MNIST test"), ("feedback_holdout", "held-back feedback")):
        for digit in map(str, range(10)):
            (right_before, count), (right_after, _) = before[name][digit], after[name][digit]
            if count < min_records:
                continue
            was, now = right_before / count, right_after / count
            if was - now > max_drop + 1e-9:
                problems.append(f"digit {digit} on {label} dropped {(was - now) * 100:.2f} pp "
                                f"({was:.2%} → {now:.2%} of {count})")
    return problems


def content_order(records: list[Feedback]) -> list[Feedback]:
    """The records in an order of what they hold (the picture the model saw, then the label), not
    of when they arrived: training then sees the same sequence however they were approved."""
    return sorted(records, key=lambda record: (hashlib.sha256(bytes(record.model_input)).digest(), record.label))


def is_held_back(record: Feedback, fraction: float) -> bool:
    """A stable split by the picture the model saw, whatever else is approved: the same picture
    sent twice lands on the same side, so it cannot be trained on and then graded on."""
    digest = hashlib.sha256(bytes(record.model_input)).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def record_pixels(record: Feedback) -> np.ndarray:
    """The model input the server's current preprocessing makes of the stored original; the input
    recorded at prediction time when the original is gone or unreadable."""
    try:
        with record.original.open("rb") as handle:
            return preprocess(handle.read())
    except (FileNotFoundError, OSError, ValueError, ImageRejected):
        return np.frombuffer(bytes(record.model_input), dtype=np.uint8).reshape(28, 28)


def active_version() -> ModelVersion:
    version = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
    return version or register_bundled_model(directory=Path(settings.BUNDLED_MODEL_DIR))


def finetune(
    *,
    data_path: str | Path | None,
    config: FinetuneConfig,
    dry_run: bool = False,
    force: bool = False,
    progress: Callable[[str], None] = lambda message: None,
    verbose: int = 0,
) -> FinetuneReport:
    """Train a candidate on the approved records and promote it if it serves users better. Nothing
    is trained when too few records are approved, or (unless `force`) when none was approved since
    the active version was made: a nightly run must not promote a new model from the same data."""
    started = time.monotonic()
    records = list(Feedback.objects.filter(status=Feedback.Status.APPROVED).order_by("id"))
    if len(records) < config.min_records:
        return FinetuneReport(
            status="too-few-records",
            message=f"Only {len(records)} approved feedback record(s); at least {config.min_records} are needed. "
            "Nothing was trained.",
            records=len(records),
        )

    records = content_order(records)
    held = [record for record in records if is_held_back(record, config.holdout_fraction)]
    train = [record for record in records if not is_held_back(record, config.holdout_fraction)]
    if len(held) < config.min_holdout_records:
        return FinetuneReport(
            status="not-enough-evidence",
            message=f"Not enough evidence: {len(records)} approved records hold back only {len(held)} to judge a "
            f"candidate by; at least {config.min_holdout_records} are needed (about "
            f"{int(np.ceil(config.min_holdout_records / config.holdout_fraction))} approved). Nothing was trained.",
            records=len(records),
            held_back=len(held),
        )

    parent = active_version()
    if not force and not any(record.reviewed_at and record.reviewed_at > parent.created_at for record in records):
        return FinetuneReport(
            status="nothing-new",
            message=f"No approved feedback is new since the active version {parent.name} was made "
            f"({parent.created_at:%Y-%m-%d %H:%M} UTC); nothing was trained. --force trains anyway.",
            records=len(records),
            parent=parent.name,
        )

    import keras

    from training.calibration import model_temperature
    from training.export import export_tflite
    from training.mnist import load_mnist
    from training.train import augmented_batches

    data = load_mnist(path=data_path)  # a wrong --data fails now, not after the records are prepared
    keras.utils.set_random_seed(config.seed)
    progress(f"Preparing {len(train)} training and {len(held)} held-back records; parent model {parent.name}")
    x_feedback = np.stack([record_pixels(record) for record in train]) if train else np.zeros((0, 28, 28), np.uint8)
    y_feedback = np.array([record.label for record in train], dtype=np.uint8)
    x_held = np.stack([record_pixels(record) for record in held]) if held else np.zeros((0, 28, 28), np.uint8)
    y_held = np.array([record.label for record in held], dtype=np.uint8)

    rng = np.random.default_rng(config.seed)
    shown = len(train) * config.feedback_repeats
    replay = rng.choice(len(data.x_train), size=min(len(data.x_train), int(shown * config.replay_ratio)), replace=False)
    x_mix = np.concatenate([np.tile(x_feedback, (config.feedback_repeats, 1, 1)), data.x_train[replay]])
    y_mix = np.concatenate([np.tile(y_feedback, config.feedback_repeats), data.y_train[replay]])

    with tempfile.TemporaryDirectory(prefix="finetune-") as workdir:
        workdir = Path(workdir)
        parent_file = local_model_file(name=parent.name, stored_name=parent.keras_file.name, filename="model.keras")
        parent_served = local_model_file(name=parent.name, stored_name=parent.tflite_file.name, filename="model.tflite")
        model = keras.models.load_model(parent_file, compile=False)
        # Parent and candidate are judged as they serve: their LiteRT files, not the Keras models.
        digest = mnist_digest(data.x_test, data.y_test)
        known = stored_mnist_figures(parent, digest=digest)
        judged_before = judge(tflite_path=parent_served, mnist=(data.x_test, data.y_test), held=(x_held, y_held),
                              known_mnist=known)
        if known is None:  # measured once per version and test set; the next finetune reads it back
            parent.metrics = {**(parent.metrics or {}), "mnist_test_judged": mnist_figures(judged_before, digest=digest)}
            ModelVersion.objects.filter(pk=parent.pk).update(metrics=parent.metrics)
        progress(f"Training on {len(y_mix)} images per epoch ({shown} feedback, {len(replay)} MNIST replay), "
                 f"{config.epochs} epochs at learning rate {config.learning_rate}")
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        steps = int(np.ceil(len(y_mix) / config.batch_size))
        batches = augmented_batches(x_mix, y_mix, epochs=config.epochs, batch_size=config.batch_size,
                                    seed=config.seed, augment=config.augment)
        model.fit(batches, epochs=config.epochs, steps_per_epoch=steps, shuffle=False, verbose=verbose)
        tflite_path = export_tflite(model=model, path=workdir / "model.tflite")
        judged_after = judge(tflite_path=tflite_path, mnist=(data.x_test, data.y_test), held=(x_held, y_held))
        before, after = judged_before.figures, judged_after.figures
        classes_before, classes_after = judged_before.classes, judged_after.classes
        temperature = model_temperature(model, x_mix, y_mix, seed=config.seed + 1)
        paired = paired_outcome(parent_right=judged_before.held_right, candidate_right=judged_after.held_right,
                                significance=config.significance)
        problems = promotion_problems(before=before, after=after, max_mnist_drop=config.max_mnist_drop)
        if paired.worse:
            problems.append(f"it reads the held-back feedback worse: {paired.only_parent_right} records now wrong "
                            f"against {paired.only_candidate_right} now right (paired test p = {paired.p_worse:.3f})")
        problems += class_problems(before=classes_before, after=classes_after, max_drop=config.max_class_drop,
                                   min_records=config.min_class_records)
        promoted = not problems
        report = FinetuneReport(
            status="promoted" if promoted else "rejected",
            message="",
            records=len(records),
            trained_on=len(train),
            held_back=len(held),
            parent=parent.name,
            before={k: round(v, 6) for k, v in before.items()},
            after={k: round(v, 6) for k, v in after.items()},
            paired=paired,
            candidate_sha256=hashlib.sha256(tflite_path.read_bytes()).hexdigest(),
        )
        if dry_run:
            report.status = "dry-run"
            report.message = ("Dry run: the candidate would be " + ("promoted." if promoted else "rejected: " + "; ".join(problems) + ".")
                              + " Nothing was saved.")
            report.seconds = round(time.monotonic() - started, 1)
            return report

        keras_path = workdir / "model.keras"
        model.save(keras_path)
        name = f"ft-{dt.datetime.now(dt.timezone.utc):%Y%m%d-%H%M%S}-{report.candidate_sha256[:8]}"
        report.candidate = name
        report.message = (f"Promoted {name}: it now serves." if promoted
                          else f"Rejected {name}: " + "; ".join(problems) + ". The active model is unchanged.")
        report.seconds = round(time.monotonic() - started, 1)
        version = register_model(
            name=name,
            keras_path=keras_path,
            tflite_path=tflite_path,
            parent=parent,
            status=ModelVersion.Status.CANDIDATE if promoted else ModelVersion.Status.REJECTED,
            metrics={**report.after, "temperature": temperature, "parent": report.before, "config": asdict(config),
                     "per_class": {"before": classes_before, "after": classes_after},
                     "paired": asdict(paired), "mnist_test_judged": mnist_figures(judged_after, digest=digest)},
            notes="\n".join(report.lines()),
        )
        if promoted:
            try:
                activate(version, replacing=parent)
            except ActiveVersionChanged as change:  # a rollback or another finetune while this one trained
                report.status = "stored"
                report.message = (f"Stored {name} as a candidate, not activated: {change} since training began "
                                  "(a rollback or another finetune). Staff can activate it in the admin.")
                ModelVersion.objects.filter(pk=version.pk).update(notes="\n".join(report.lines()))
        version.trained_on.set(train)
        ModelVersion.objects.filter(pk=version.pk).update(trained_on_count=len(train))
    return report
