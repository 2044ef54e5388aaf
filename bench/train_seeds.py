"""`train_base` over several seeds, one after another, and a table of what each run gave.

The recipe meets the accuracy goals by fractions of a point (docs/model.md, "Looking for a
margin"), so one run says little about it, and a machine of another kind trains another model.
This runs `manage.py train_base` once per seed, as a person would, and prints a Markdown row per
run as it ends: wall time, version, the card's accuracies through the upload path, the goals it
misses, and the errors the recipe trades against each other: MNIST test sevens read as 1, and
Semeion's wrong ones, fours and nines. Options it does not know go to `train_base` as they are.

    python bench/train_seeds.py [--seeds 1 2 3] [--data mnist.npz] [--output DIR] [--hooked-nines 0.35 …]

About 7–8 minutes a seed on 2 cores. Each run's model and log stay in --output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")

#: Semeion's digits that the recipe's styles were drawn for (docs/model.md).
SEMEION_DIGITS = (1, 4, 9)
HEADER = ("| seed | wall | version | MNIST | USPS | Semeion | goals missed | 7 → 1 | Semeion 1 / 4 / 9 |\n"
          "| ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: |")


def error_groups(*, model_dir: Path, mnist_path: str) -> tuple[int, list[int]]:
    """MNIST test sevens read as 1, and Semeion's wrong readings of each of SEMEION_DIGITS."""
    from training.evaluation import confusions, heldout_path, load_classifier, load_heldout, readings_through_upload
    from training.mnist import load_mnist

    classifier = load_classifier(model_dir=model_dir)
    data = load_mnist(path=mnist_path, allow_download=False)
    sevens = data.x_test[data.y_test == 7]
    mnist = confusions(readings_through_upload(classifier, sevens), data.y_test[data.y_test == 7])
    images, labels = load_heldout(heldout_path(mnist_path=mnist_path, name="semeion"))
    semeion = confusions(readings_through_upload(classifier, images), labels)
    wrong = [sum(count for (true, _), count in semeion.items() if true == digit) for digit in SEMEION_DIGITS]
    return mnist[(7, 1)], wrong


def percent(share: float) -> str:
    return f"{share * 100:.2f} %"


def table_row(*, seed: int, wall_seconds: float, card: dict, sevens_as_ones: int, semeion_wrong: list[int]) -> str:
    served = card["served_accuracy"]
    minutes, seconds = divmod(round(wall_seconds), 60)
    figures = " | ".join(percent(served[name]) for name in ("mnist_test_upload", "usps_test_upload", "semeion_upload"))
    missed = ", ".join(card["missed_goals"]) or "none"
    return (f"| {seed} | {minutes} min {seconds} s | `{card['version']}` | {figures} | {missed} | {sevens_as_ones} | "
            f"{' / '.join(map(str, semeion_wrong))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--data", default=None, help="mnist.npz (default: MNIST_PATH)")
    parser.add_argument("--output", type=Path, default=None, help="where the runs go (default: a new folder in /tmp)")
    args, train_options = parser.parse_known_args()

    import django
    from django.conf import settings

    django.setup()
    from training.evaluation import HELDOUT_SETS, heldout_path

    data = args.data or settings.MNIST_PATH
    for path in (Path(data), *(heldout_path(mnist_path=data, name=name) for name in HELDOUT_SETS)):
        if not path.is_file():
            parser.error(f"{path} not found: the runs are measured on MNIST, USPS and Semeion")
    output = args.output or Path(tempfile.mkdtemp(prefix="train-seeds-"))
    output.mkdir(parents=True, exist_ok=True)
    print(f"{dt.date.today()}; {machine.describe()}; python manage.py train_base --data {data} "
          f"{' '.join(train_options)} --seed N; runs in {output}\n")
    print(HEADER, flush=True)
    for seed in args.seeds:
        run_dir = output / f"seed-{seed}"
        started = time.monotonic()
        with open(output / f"seed-{seed}.log", "w") as log:
            finished = subprocess.run(
                [sys.executable, "manage.py", "train_base", "--data", str(data), "--seed", str(seed),
                 "--output", str(run_dir), *train_options],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            )
        wall = time.monotonic() - started
        if finished.returncode != 0:
            print(f"| {seed} | failed, exit status {finished.returncode}: see {log.name} | | | | | | | |", flush=True)
            continue
        card = json.loads((run_dir / "model_card.json").read_text())
        sevens_as_ones, semeion_wrong = error_groups(model_dir=run_dir, mnist_path=str(data))
        print(table_row(seed=seed, wall_seconds=wall, card=card, sevens_as_ones=sevens_as_ones,
                        semeion_wrong=semeion_wrong), flush=True)


if __name__ == "__main__":
    main()
