"""finetune's wall time side by side with an earlier commit (run by hand).

Checks out `--baseline` (by default the main before the learning-loop issue's work) into a
temporary git worktree; then, `--rounds` times, for each code tree in turn (baseline, working
tree): a fresh SQLite database migrated by that tree, the same `--records` approved feedback
records (MNIST test digits as PNGs, true labels) made by that tree's own test factory, and
`manage.py finetune --dry-run` timed end to end, as a person runs it. The goal of the learning-loop
issue: the working tree at least 1.6× faster, by fixed costs and not by training less.

    python bench/finetune_speed.py [--baseline COMMIT] [--records 1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

#: The main before the learning-loop issue's work began.
PREVIOUS_MAIN = "8f3d079"

POPULATE = """
import sys
import django

django.setup()
from django.core.management import call_command

call_command("migrate", verbosity=0)
from feedback.models import Feedback
from feedback.tests.factories import make_feedback
from training.mnist import load_mnist

mnist = load_mnist(path=sys.argv[1])
for image, label in zip(mnist.x_test[: int(sys.argv[2])], mnist.y_test):
    make_feedback(label=int(label), predicted=int(label), pixels=image, status=Feedback.Status.APPROVED)
"""


def timed_finetune(root: Path, *, records: int, data: str, workdir: Path) -> float:
    """Seconds `manage.py finetune --dry-run` takes in `root`'s code on a fresh database."""
    workdir.mkdir(parents=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mnistsite.settings",
           "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}", "MEDIA_ROOT": str(workdir / "media"),
           "MODEL_CACHE_DIR": str(workdir / "models"), "MNIST_PATH": data}
    subprocess.run([sys.executable, "-c", POPULATE, data, str(records)], cwd=root, env=env, check=True,
                   capture_output=True)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "manage.py", "finetune", "--dry-run", "--data", data, "-v", "1"],
                            cwd=root, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if result.returncode != 0 or "Dry run" not in result.stdout:
        raise RuntimeError(f"finetune failed in {root}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=PREVIOUS_MAIN)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "mnist.npz"))
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-finetune-speed-"))
    baseline = workdir / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True,
                   capture_output=True)
    trees = {f"baseline {args.baseline}": baseline, "working tree": ROOT}
    times: dict[str, list[float]] = {label: [] for label in trees}
    try:
        for round_number in range(args.rounds):
            for label, root in trees.items():
                times[label].append(timed_finetune(root, records=args.records, data=args.data,
                                                   workdir=workdir / f"{round_number}-{root.name}"))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False)
    print(f"{dt.date.today()}; {machine.describe()}; `finetune --dry-run` on {args.records} approved records, "
          f"{args.rounds} round(s), trees alternating\n")
    print("| code | seconds, each round | median |\n| --- | --- | ---: |")
    for label, seconds in times.items():
        print(f"| {label} | {', '.join(f'{s:.1f}' for s in seconds)} | {statistics.median(seconds):.1f} |")
    base, now = (statistics.median(seconds) for seconds in times.values())
    print(f"\nworking tree: {base / now:.2f}× the baseline's speed (goal ≥ 1.6×)")


if __name__ == "__main__":
    main()
