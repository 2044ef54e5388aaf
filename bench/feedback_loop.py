"""Does the feedback loop work? Plays users end to end and measures before/after (run by hand).

1. Posts 300 USPS and 300 Semeion digits (real handwriting, not MNIST) to POST /api/predict/ as
   16×16 PNGs and sends feedback to POST /api/feedback/, as `--scenario` says: `all-true` (every
   digit's true label), `corrections` (as people do: the true label for every wrong answer and for
   a fifth of the right ones) or `poisoned` (every digit, but every true 7 labelled 1, approved by
   mistake; the rests' sevens read as 1 are counted).
2. Approves all 600 records, as a reviewer would, and runs `manage.py finetune`.
3. Measures accuracy through the API on the disjoint rest of each set and on MNIST test, before
   and after.
4. Times `finetune --dry-run` on 1,000 approved records.

It uses a throwaway database and media folder, never your own data: SQLite, or with
`--database-url postgres://…` a fresh database on that PostgreSQL server, dropped afterwards.
`--order N` sends the feedback in the N-th shuffled order of the same pictures (0: set by set), to
check that the decision does not hang on the order records arrive in.

    python bench/feedback_loop.py [--data ../shared/data/mnist.npz] [--per-set 300]
                                  [--scenario all-true|corrections|poisoned] [--order N]
                                  [--database-url URL] [--no-timing]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None, help="mnist.npz (default: MNIST_PATH)")
    parser.add_argument("--per-set", type=int, default=300)
    parser.add_argument("--scenario", choices=("all-true", "corrections", "poisoned"), default="all-true")
    parser.add_argument("--order", type=int, default=0, help="0: set by set; N: the N-th shuffled order")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to make a fresh database on")
    parser.add_argument("--no-timing", action="store_true", help="skip timing finetune on 1,000 records")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-feedback-"))
    drop_database = None
    if args.database_url:
        sys.path.insert(0, str(ROOT / "deploy"))
        from smoke import fresh_database

        os.environ["DATABASE_URL"], drop_database = fresh_database(args.database_url)
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    try:
        run(args, workdir)
    finally:
        if drop_database is not None:
            from django.db import connections

            connections.close_all()
            drop_database()


def run(args, workdir: Path) -> None:
    os.environ["RATELIMIT_PREDICT"] = os.environ["RATELIMIT_FEEDBACK"] = ""  # one client, thousands of posts
    os.environ["MEDIA_ROOT"] = str(workdir / "media")
    os.environ["MODEL_CACHE_DIR"] = str(workdir / "models")
    os.environ["MODEL_REFRESH_SECONDS"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")

    import logging

    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # 422s for "no digit" are expected
    import numpy as np
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from feedback.models import Feedback
    from training.evaluation import heldout_path, load_heldout, png_bytes
    from training.mnist import load_mnist

    setup_test_environment()
    call_command("migrate", verbosity=0)
    data_path = args.data or settings.MNIST_PATH
    mnist = load_mnist(path=data_path)
    client = Client()

    def predict(image) -> dict:
        response = client.post("/api/predict/", {"image": SimpleUploadedFile("d.png", png_bytes(image))})
        return response.json() if response.status_code == 200 else {}

    def accuracy(images, labels) -> float:
        return float(np.mean([predict(image).get("digit") == int(label) for image, label in zip(images, labels)]))

    sets = {}
    for name in ("usps_test", "semeion"):
        images, labels = load_heldout(heldout_path(mnist_path=data_path, name=name))
        order = np.random.default_rng(0).permutation(len(labels))
        feedback, rest = order[: args.per_set], order[args.per_set :]
        sets[name] = (images[feedback], labels[feedback], images[rest], labels[rest])

    def measure() -> dict[str, float]:
        figures = {f"{name} rest": accuracy(rest_x, rest_y) for name, (_, _, rest_x, rest_y) in sets.items()}
        figures["MNIST test"] = accuracy(mnist.x_test, mnist.y_test)
        sevens = [image for _, _, rest_x, rest_y in sets.values() for image in rest_x[rest_y == 7]]
        figures["rests' sevens read as 1"] = float(np.mean([predict(image).get("digit") == 1 for image in sevens]))
        return figures

    started = time.monotonic()
    before = measure()
    base_version = predict(mnist.x_test[0])["model_version"]

    sent = refused = 0
    chance = np.random.default_rng(1)
    # Whether a right answer gets feedback is drawn per picture, before any shuffling: every order
    # sends the same records.
    pictures = [(image, label, chance.random() < 0.2)
                for images, labels, _, _ in sets.values() for image, label in zip(images, labels)]
    if args.order:
        pictures = [pictures[i] for i in np.random.default_rng(1000 + args.order).permutation(len(pictures))]
    for image, label, says_right_too in pictures:
        answer = predict(image)
        if "feedback_token" not in answer:  # refused as "no digit found": no feedback possible either
            refused += 1
            continue
        if args.scenario == "corrections" and answer["digit"] == int(label) and not says_right_too:
            continue  # most people say nothing when the answer is right
        given = 1 if args.scenario == "poisoned" and int(label) == 7 else int(label)
        response = client.post("/api/feedback/", {"feedback_token": answer["feedback_token"], "label": given})
        sent += response.status_code == 201
    Feedback.objects.update(status=Feedback.Status.APPROVED, reviewed_at=dt.datetime.now(dt.timezone.utc))

    report = io.StringIO()
    finetune_started = time.monotonic()
    with redirect_stdout(report):
        call_command("finetune", data=data_path, verbosity=1, stdout=report)
    finetune_seconds = time.monotonic() - finetune_started
    after = measure()
    new_version = predict(mnist.x_test[0])["model_version"]

    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{dt.date.today()}; {machine.describe()}; scenario {args.scenario}, order {args.order}, {database}")
    print(f"feedback records sent: {sent} ({refused} pictures refused as no digit); base {base_version} → {new_version}\n")
    print("finetune report:\n" + "\n".join("    " + line for line in report.getvalue().splitlines()) + "\n")
    print("| set (through the API) | before | after | change |\n| --- | ---: | ---: | ---: |")
    for key in before:
        print(f"| {key} | {before[key]:.2%} | {after[key]:.2%} | {(after[key] - before[key]) * 100:+.2f} pp |")
    print(f"\nfinetune on {sent} records: {finetune_seconds:.1f} s; total {time.monotonic() - started:.0f} s")
    if args.no_timing:
        return

    # Timing on 1,000 approved records (the extra are MNIST test images; dry run: nothing saved).
    extra = 1000 - Feedback.objects.count()
    for image, label in zip(mnist.x_test[:extra], mnist.y_test[:extra]):
        token = predict(image).get("feedback_token", "")
        client.post("/api/feedback/", {"feedback_token": token, "label": int(label)})
    Feedback.objects.update(status=Feedback.Status.APPROVED, reviewed_at=dt.datetime.now(dt.timezone.utc))
    timing_started = time.monotonic()
    call_command("finetune", data=data_path, dry_run=True, force=True, verbosity=0, stdout=io.StringIO())
    thousand_seconds = time.monotonic() - timing_started

    print(f"finetune --dry-run --force on {Feedback.objects.count()} records: {thousand_seconds:.1f} s")


if __name__ == "__main__":
    main()
