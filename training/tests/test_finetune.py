"""finetune: too few records, dry run, promotion, rejection of a candidate that forgets MNIST."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from feedback.models import Feedback
from feedback.tests.factories import make_feedback
from predictor import inference
from training.finetune import FinetuneConfig, finetune, is_held_back, paired_outcome, promotion_problems
from training.mnist import load_mnist
from training.models import ModelVersion

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def mnist(mnist_path):
    return load_mnist(path=mnist_path)


def approved_records(mnist, *, count: int, wrong_labels: bool = False, offset: int = 0,
                     source: str = "test") -> list[Feedback]:
    """`count` of MNIST's `source` digits, approved; from the training digits, the records teach
    nothing MNIST test would count as new."""
    images, labels = (mnist.x_test, mnist.y_test) if source == "test" else (mnist.x_train, mnist.y_train)
    records = []
    for index in range(offset, offset + count):
        image, label = images[index], int(labels[index])
        given = (label + 1) % 10 if wrong_labels else label
        records.append(make_feedback(label=given, predicted=label, pixels=image, status=Feedback.Status.APPROVED))
    return records


@pytest.mark.parametrize(
    ("after", "promoted"),
    [
        ({"mnist_test_accuracy": 0.9950, "feedback_holdout_accuracy": 0.90}, True),  # 0.15 pp drop: allowed
        ({"mnist_test_accuracy": 0.9940, "feedback_holdout_accuracy": 0.95}, True),  # exactly 0.2 pp
        ({"mnist_test_accuracy": 0.9930, "feedback_holdout_accuracy": 0.99}, False),  # 0.3 pp: forgets MNIST
    ],
)
def test_mnist_rule(after, promoted):
    before = {"mnist_test_accuracy": 0.9960, "feedback_holdout_accuracy": 0.90}
    assert (promotion_problems(before=before, after=after, max_mnist_drop=0.002) == []) is promoted


def _paired(lost: int, gained: int, same: int = 100):
    """Parent and candidate on held-back records: `lost` read right only by the parent, `gained`
    only by the candidate, `same` by both."""
    parent = np.array([True] * lost + [False] * gained + [True] * same)
    candidate = np.array([False] * lost + [True] * gained + [True] * same)
    return paired_outcome(parent_right=parent, candidate_right=candidate, significance=0.05)


def test_one_picture_does_not_decide():
    """The rule that held-back accuracy must not drop at all let one record of 120 reject a good
    batch; the paired test needs evidence."""
    assert not _paired(1, 0).worse
    assert not _paired(3, 1).worse
    assert not _paired(0, 0).worse and _paired(0, 0).p_worse == 1.0


def test_a_candidate_that_loses_many_held_back_records_is_worse():
    outcome = _paired(8, 1)
    assert outcome.worse and outcome.p_worse == pytest.approx(0.0195, abs=1e-4)
    assert "1 now right, 8 now wrong, of 109" in outcome.describe()
    assert not _paired(8, 8).worse


def test_holdout_split_is_stable_and_about_the_asked_fraction(mnist):
    records = approved_records(mnist, count=200)
    held = [record.pk for record in records if is_held_back(record, 0.2)]
    assert 20 <= len(held) <= 60
    assert held == [record.pk for record in Feedback.objects.order_by("id") if is_held_back(record, 0.2)]


def test_the_same_picture_sent_twice_is_on_one_side_of_the_split(mnist):
    first = approved_records(mnist, count=100)
    again = approved_records(mnist, count=100)  # new tokens, the same pictures
    assert [is_held_back(record, 0.2) for record in first] == [is_held_back(record, 0.2) for record in again]


def test_too_few_records_is_a_clear_message_and_exit_0(capsys, mnist_path):
    make_feedback(status=Feedback.Status.APPROVED)
    make_feedback()  # pending: does not count
    call_command("finetune", data=str(mnist_path), min_records=5)
    out = capsys.readouterr().out
    assert "Only 1 approved feedback record" in out and "Nothing was trained" in out
    assert ModelVersion.objects.count() == 1


def test_a_data_file_that_is_not_mnist_is_a_command_error(mnist, tmp_path):
    approved_records(mnist, count=12)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not an npz")
    with pytest.raises(CommandError, match="cannot be read as an .npz file"):
        call_command("finetune", data=str(garbage), min_records=10, min_holdout_records=1, epochs=1, verbosity=0)
    assert ModelVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("argument", "message"),
    [("--seed=-1", "--seed: must be between"), ("--epochs=0", "--epochs: must be at least 1"),
     ("--min-records=0", "--min-records: must be at least 1")],
)
def test_bad_numbers_are_refused(argument, message):
    with pytest.raises(CommandError, match=message):
        call_command("finetune", argument, verbosity=0)


def test_bad_numbers_given_as_keyword_options_are_refused_too():
    """call_command passes keyword options past argparse, so the check cannot live in a `type`."""
    with pytest.raises(CommandError, match="--epochs: must be at least 1"):
        call_command("finetune", epochs=0, verbosity=0)


def test_dry_run_saves_nothing(mnist, mnist_path, capsys):
    approved_records(mnist, count=30)
    call_command("finetune", data=str(mnist_path), min_records=10, min_holdout_records=1, epochs=1, dry_run=True)
    out = capsys.readouterr().out
    assert "Dry run" in out and "MNIST test" in out and "held-back feedback" in out
    assert ModelVersion.objects.count() == 1


def test_good_feedback_is_promoted_and_served(mnist, mnist_path, capsys, settings):
    """250 correctly labelled digits (MNIST training digits: nothing for MNIST test to lose) hold
    back enough to judge by, and the candidate is promoted and served."""
    settings.MODEL_REFRESH_SECONDS = 0
    base = ModelVersion.objects.get(status="active")
    records = approved_records(mnist, count=250, source="train", offset=50_000)
    call_command("finetune", data=str(mnist_path), min_records=10, epochs=1)
    out = capsys.readouterr().out
    assert "Promoted" in out and "before" in out and "after" in out and "paired test" in out
    newest = ModelVersion.objects.exclude(pk=base.pk).get()
    assert newest.status == "active" and newest.parent == base
    assert newest.trained_on_count == newest.trained_on.count() > 0
    assert set(newest.trained_on.values_list("pk", flat=True)) <= {r.pk for r in records}
    assert {"mnist_test_accuracy", "feedback_holdout_accuracy"} <= set(newest.metrics)
    assert newest.metrics["paired"]["records"] >= 30 and newest.metrics["paired"]["p_worse"] >= 0.05
    # the candidate's temperature is fitted on what it was trained on, and served with it
    assert 0.25 <= newest.metrics["temperature"] <= 8.0
    from modelfiles import active_version, fetch_model_files

    assert fetch_model_files(active_version()).temperature == newest.metrics["temperature"]
    assert ModelVersion.objects.filter(status="active").count() == 1
    base.refresh_from_db()
    assert base.status == "retired"
    assert inference.get_classifier().version == newest.name


def test_too_few_held_back_records_is_not_enough_evidence(mnist, mnist_path, capsys):
    approved_records(mnist, count=40)
    call_command("finetune", data=str(mnist_path), min_records=10, epochs=1)
    out = capsys.readouterr().out
    assert "Not enough evidence" in out and "at least 30 are needed" in out and "Nothing was trained" in out
    assert ModelVersion.objects.count() == 1


def test_the_same_records_in_another_order_give_the_same_model_and_decision(mnist, mnist_path):
    config = FinetuneConfig(min_records=10, epochs=1)
    approved_records(mnist, count=250, source="train", offset=50_000)
    first = finetune(data_path=mnist_path, config=config, dry_run=True)
    Feedback.objects.all().delete()
    for index in reversed(range(50_000, 50_250)):  # approved the other way round, with new tokens
        make_feedback(label=int(mnist.y_train[index]), predicted=int(mnist.y_train[index]),
                      pixels=mnist.x_train[index], status=Feedback.Status.APPROVED)
    second = finetune(data_path=mnist_path, config=config, dry_run=True)
    assert first.candidate_sha256 == second.candidate_sha256 != ""
    assert (first.message, first.after, first.paired) == (second.message, second.after, second.paired)


def test_candidate_that_forgets_mnist_is_rejected(mnist, mnist_path):
    base = ModelVersion.objects.get(status="active")
    approved_records(mnist, count=150, wrong_labels=True)
    config = FinetuneConfig(min_records=10, min_holdout_records=1, epochs=3, learning_rate=0.01, feedback_repeats=8,
                            replay_ratio=0.0)
    report = finetune(data_path=mnist_path, config=config)
    assert report.status == "rejected"
    assert "MNIST test accuracy dropped" in report.message
    assert report.after["mnist_test_accuracy"] < report.before["mnist_test_accuracy"] - 0.002
    rejected = ModelVersion.objects.get(name=report.candidate)
    assert rejected.status == "rejected" and "MNIST test accuracy dropped" in rejected.notes
    assert ModelVersion.objects.get(status="active") == base


def test_finetune_uses_the_servers_preprocessing_on_the_stored_original(mnist):
    from training.finetune import record_pixels

    record = approved_records(mnist, count=1)[0]
    assert np.array_equal(record_pixels(record), mnist.x_test[0])
    record.original.delete(save=False)
    assert np.array_equal(record_pixels(record), mnist.x_test[0]), "falls back to the recorded model input"


def test_nothing_new_since_the_active_version_trains_nothing(mnist, mnist_path, capsys):
    approved_records(mnist, count=30)
    base = ModelVersion.objects.get(status="active")
    ModelVersion.objects.filter(pk=base.pk).update(created_at=timezone.now() + dt.timedelta(minutes=1))
    call_command("finetune", data=str(mnist_path), min_records=10, min_holdout_records=1, epochs=1)
    out = capsys.readouterr().out
    assert "No approved feedback is new since the active version" in out and "--force" in out
    assert ModelVersion.objects.count() == 1, "nothing was trained or stored"
    report = finetune(data_path=mnist_path, config=FinetuneConfig(min_records=10, min_holdout_records=1, epochs=1),
                      dry_run=True, force=True)
    assert report.status == "dry-run", "--force trains anyway"


def test_a_rollback_while_training_keeps_the_candidate_a_candidate(mnist, mnist_path, monkeypatch):
    from training.registry import activate, register_model

    base = ModelVersion.objects.get(status="active")
    approved_records(mnist, count=30)
    monkeypatch.setattr("training.finetune.promotion_problems", lambda **figures: [])  # it would be promoted

    def staff_roll_back_meanwhile(message: str) -> None:
        if message.startswith("Training on"):
            bundled = Path(settings.BUNDLED_MODEL_DIR)
            other = register_model(name="rolled-back-to", keras_path=bundled / "model.keras",
                                   tflite_path=bundled / "model.tflite", status=ModelVersion.Status.RETIRED)
            activate(other)

    report = finetune(data_path=mnist_path, config=FinetuneConfig(min_records=10, min_holdout_records=1, epochs=1),
                      progress=staff_roll_back_meanwhile)
    assert report.status == "stored" and not report.promoted
    assert "the active version is now rolled-back-to" in report.message
    candidate = ModelVersion.objects.get(name=report.candidate)
    assert candidate.status == "candidate" and candidate.parent == base and "not activated" in candidate.notes
    assert ModelVersion.objects.get(status="active").name == "rolled-back-to", "the rollback stands"


def test_the_model_that_was_judged_is_the_model_that_serves(mnist, mnist_path, monkeypatch, settings):
    """The gate's figures come from the exported LiteRT file: once promoted, the server reads the
    held-back records and MNIST test exactly as the report says the candidate did."""
    from training.finetune import record_pixels

    import shutil

    settings.MODEL_REFRESH_SECONDS = 0
    records = approved_records(mnist, count=60)
    monkeypatch.setattr("training.finetune.promotion_problems", lambda **figures: [])

    def export_the_parents_file(*, model, path):  # the file that will serve is not the trained Keras model
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(settings.BUNDLED_MODEL_DIR) / "model.tflite", path)
        return path

    monkeypatch.setattr("training.export.export_tflite", export_the_parents_file)
    config = FinetuneConfig(min_records=10, min_holdout_records=1, epochs=1, holdout_fraction=0.3)
    report = finetune(data_path=mnist_path, config=config)
    assert report.status == "promoted"
    assert report.after == report.before, "judged on the file that serves, the parent's here"
    served = inference.get_classifier()
    assert served.version == report.candidate
    held = [record for record in records if is_held_back(record, config.holdout_fraction)]
    assert held, "the seed's split holds some records back"
    held_right = np.mean([served.predict(pixels=record_pixels(record)).digit == record.label for record in held])
    assert held_right == pytest.approx(report.after["feedback_holdout_accuracy"], abs=1e-9)
    mnist_right = np.mean([served.predict(pixels=image).digit == label for image, label in zip(mnist.x_test, mnist.y_test)])
    assert mnist_right == pytest.approx(report.after["mnist_test_accuracy"], abs=1e-9)


def _counts(right: dict[int, int], total: int = 100) -> dict:
    return {str(digit): [right.get(digit, total), total] for digit in range(10)}


def test_a_digit_that_loses_more_than_the_margin_is_named():
    from training.finetune import class_problems

    before = {"mnist_test": _counts({}), "feedback_holdout": _counts({}, total=30)}
    after = {"mnist_test": _counts({7: 97}), "feedback_holdout": _counts({3: 29}, total=30)}
    problems = class_problems(before=before, after=after, max_drop=0.01, min_records=20)
    assert problems == ["digit 7 on MNIST test dropped 3.00 pp (100.00% → 97.00% of 100)",
                        "digit 3 on held-back feedback dropped 3.33 pp (100.00% → 96.67% of 30)"]
    small = {"mnist_test": _counts({}), "feedback_holdout": _counts({}, total=5)}
    worse = {"mnist_test": _counts({}), "feedback_holdout": _counts({3: 0}, total=5)}
    assert class_problems(before=small, after=worse, max_drop=0.01, min_records=20) == [], "too few to judge a digit"
    assert class_problems(before=before, after=before, max_drop=0.01, min_records=20) == []


def test_a_batch_that_teaches_seven_is_one_is_rejected_naming_the_sevens(mnist, mnist_path):
    sevens = np.flatnonzero(mnist.y_test == 7)[:120]
    base = ModelVersion.objects.get(status="active")
    for index in sevens:
        make_feedback(label=1, predicted=7, pixels=mnist.x_test[index], status=Feedback.Status.APPROVED)
    config = FinetuneConfig(min_records=10, min_holdout_records=1, epochs=2, learning_rate=1e-3, feedback_repeats=8)
    report = finetune(data_path=mnist_path, config=config)
    assert report.status == "rejected"
    assert "digit 7 on MNIST test dropped" in report.message
    rejected = ModelVersion.objects.get(name=report.candidate)
    per_class = rejected.metrics["per_class"]
    assert per_class["after"]["mnist_test"]["7"][0] < per_class["before"]["mnist_test"]["7"][0]
    assert ModelVersion.objects.get(status="active") == base


def test_the_versions_page_shows_each_digit_before_and_after(client, admin_user):
    bundled = Path(settings.BUNDLED_MODEL_DIR)
    from training.registry import register_model

    before = {"mnist_test": _counts({}, total=1000), "feedback_holdout": _counts({}, total=0)}
    after = {"mnist_test": _counts({7: 950}, total=1000), "feedback_holdout": _counts({}, total=0)}
    version = register_model(name="ft-per-class", keras_path=bundled / "model.keras", tflite_path=bundled / "model.tflite",
                             metrics={"per_class": {"before": before, "after": after}})
    client.force_login(admin_user)
    page = client.get(f"/admin/training/modelversion/{version.pk}/change/").content.decode()
    assert "MNIST test before" in page and "<td>7</td><td>100.0% of 1000</td><td>95.0% of 1000</td>" in page


def test_batches_on_every_core_give_the_numbers_the_server_computes(mnist):
    from modelfiles import ModelFiles
    from predictor.inference import DigitClassifier
    from training.evaluation import litert_probabilities

    bundled = Path(settings.BUNDLED_MODEL_DIR) / "model.tflite"
    images = mnist.x_test[:300]
    threaded = litert_probabilities(tflite_path=bundled, images=images, threads=2)
    assert np.array_equal(threaded, litert_probabilities(tflite_path=bundled, images=images, threads=1))
    server = DigitClassifier(files=ModelFiles(version="raw", tflite_path=bundled, temperature=1.0))
    served = np.array([server.predict(pixels=image).probabilities for image in images[:50]])
    assert np.array_equal(served, threaded[:50].astype(np.float64))


def test_the_parents_mnist_figures_are_measured_once_and_read_back(mnist, mnist_path):
    from training.finetune import mnist_digest

    approved_records(mnist, count=40, source="train", offset=50_000)
    config = FinetuneConfig(min_records=10, min_holdout_records=1, epochs=1)
    base = ModelVersion.objects.get(status="active")
    assert "mnist_test_judged" not in base.metrics
    measured = finetune(data_path=mnist_path, config=config, dry_run=True)
    base.refresh_from_db()
    stored = base.metrics["mnist_test_judged"]
    assert stored["digest"] == mnist_digest(mnist.x_test, mnist.y_test)
    assert stored["accuracy"] == measured.before["mnist_test_accuracy"] and sum(n for _, n in stored["classes"].values()) == 10_000

    # Read back, not measured again: a figure planted in the stored record shows through.
    ModelVersion.objects.filter(pk=base.pk).update(metrics={**base.metrics, "mnist_test_judged": {**stored, "accuracy": 0.5}})
    assert finetune(data_path=mnist_path, config=config, dry_run=True).before["mnist_test_accuracy"] == 0.5
    # Another test set: measured anew.
    ModelVersion.objects.filter(pk=base.pk).update(
        metrics={**base.metrics, "mnist_test_judged": {**stored, "accuracy": 0.5, "digest": "another set"}})
    assert finetune(data_path=mnist_path, config=config, dry_run=True).before == measured.before
