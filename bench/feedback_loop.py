"""Does the feedback loop work? Plays users end to end and measures before/after (run by hand).

1. Posts 300 USPS and 300 Semeion digits (real handwriting, not MNIST) to POST /api/predict/ as
   16×16 PNGs and sends their true labels to POST /api/feedback/.
2. Approves all 600 records, as a reviewer would, and runs `manage.py finetune`.
3. Measures accuracy through the API on the disjoint rest of each set and on MNIST test, before
   and after.
4. Times `finetune --dry-run` on 1,000 approved records.

It uses a throwaway SQLite database and media folder, never your own data.

    python bench/feedback_loop.py [--data ../shared/data/mnist.npz] [--per-set 300]
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
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-feedback-"))
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
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
        return figures

    started = time.monotonic()
    before = measure()
    base_version = predict(mnist.x_test[0])["model_version"]

    sent = refused = 0
    for name, (images, labels, _, _) in sets.items():
        for image, label in zip(images, labels):
            token = predict(image).get("feedback_token")
            if token is None:  # refused as "no digit found": a user could not send feedback either
                refused += 1
                continue
            response = client.post("/api/feedback/", {"feedback_token": token, "label": int(label)})
            sent += response.status_code == 201
    Feedback.objects.update(status=Feedback.Status.APPROVED, reviewed_at=dt.datetime.now(dt.timezone.utc))

    report = io.StringIO()
    finetune_started = time.monotonic()
    with redirect_stdout(report):
        call_command("finetune", data=data_path, verbosity=1, stdout=report)
    finetune_seconds = time.monotonic() - finetune_started
    after = measure()
    new_version = predict(mnist.x_test[0])["model_version"]

    # Timing on 1,000 approved records (the extra 400 are MNIST test images; dry run: nothing saved).
    extra = 1000 - Feedback.objects.count()
    for image, label in zip(mnist.x_test[:extra], mnist.y_test[:extra]):
        token = predict(image).get("feedback_token", "")
        client.post("/api/feedback/", {"feedback_token": token, "label": int(label)})
    Feedback.objects.update(status=Feedback.Status.APPROVED, reviewed_at=dt.datetime.now(dt.timezone.utc))
    timing_started = time.monotonic()
    call_command("finetune", data=data_path, dry_run=True, verbosity=0, stdout=io.StringIO())
    thousand_seconds = time.monotonic() - timing_started

    print(f"{dt.date.today()}; {machine.describe()}; total {time.monotonic() - started:.0f} s")
    print(f"feedback records sent: {sent} ({refused} pictures refused as no digit); base {base_version} → {new_version}\n")
    print("finetune report:\n" + "\n".join("    " + line for line in report.getvalue().splitlines()) + "\n")
    print("| set (through the API) | before | after | change |\n| --- | ---: | ---: | ---: |")
    for key in before:
        print(f"| {key} | {before[key]:.2%} | {after[key]:.2%} | {(after[key] - before[key]) * 100:+.2f} pp |")
    print(f"\nfinetune on {sent} records: {finetune_seconds:.1f} s; "
          f"finetune --dry-run on {Feedback.objects.count()} records: {thousand_seconds:.1f} s")


if __name__ == "__main__":
    main()
