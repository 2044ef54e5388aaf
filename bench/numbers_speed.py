"""Serving speed with numbers read, side by side with an earlier commit, in one run on one machine.

Checks out `--baseline` (by default the main before numbers were read) into a temporary git
worktree, then serves it and the working tree in turn with the container's gunicorn config (2 sync
workers) on loopback, and measures with wrk (Debian's `wrk`):

- a 28×28 single-digit PNG under 4 clients (throughput; goal: ≥ 90 % of the baseline's);
- one client at a time, a 1600 px phone photo of one digit and a 1600 px phone photo of a
  4-digit number (p50; goal: the number's at most 2.5× the single digit's, on the working tree);
- each worker's RSS after the runs (goal ≤ 150 MiB).

    python bench/numbers_speed.py [--baseline COMMIT] [--seconds 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.serve import UNREACHABLE_RATE, worker_rss_mib, wrk  # noqa: E402

from predictor.tests import liveserver  # noqa: E402

#: The main before pictures of numbers were read (2026-11-25).
PREVIOUS_MAIN = "8f3d079"


def photo_1600(ink) -> bytes:
    """`ink` (0‥1) as a phone photo (uneven light, paper, sensor noise) 1600 px on its longer side."""
    import numpy as np
    from PIL import Image

    from training.number_pictures import render

    data, _ = render(ink, rendering="photo", rng=np.random.default_rng(0))
    picture = Image.open(io.BytesIO(data))
    scale = 1600 / max(picture.size)
    picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def bodies(workdir: Path) -> dict[str, tuple[Path, str]]:
    import numpy as np
    from PIL import Image

    from predictor.tests import renders
    from training.number_pictures import compose

    digits, labels = renders.mnist_samples()
    by_digit = {int(label): digits[index] for index, label in enumerate(labels)}
    one, _ = compose([by_digit[7]], rng=np.random.default_rng(1), spacing="apart")
    four, _ = compose([by_digit[d] for d in (2, 0, 2, 6)], rng=np.random.default_rng(1), spacing="apart")
    pictures = {"png28": renders.encode(Image.fromarray(digits[0])), "photo_digit": photo_1600(one),
                "photo_number": photo_1600(four)}
    out = {}
    for name, data in pictures.items():
        body, content_type = liveserver.multipart(data)
        path = workdir / f"{name}.body"
        path.write_bytes(body)
        out[name] = (path, content_type)
    return out


def measure(root: Path, payloads: dict, *, seconds: int, workdir: Path) -> dict[str, float]:
    server_dir = workdir / f"{root.name}-server"  # its database, media and static files, beside the code
    server_dir.mkdir()
    env = liveserver.throwaway_env(server_dir, RATELIMIT_PREDICT=UNREACHABLE_RATE)
    liveserver.collect_static(env, root=root)
    liveserver.migrate(env, root=root)
    process, base, _ = liveserver.start_gunicorn(env, root=root)
    try:
        figures = {"png28_rps": wrk(base, "/api/predict/", payloads["png28"], seconds, 4, workdir)["rps"]}
        for name in ("photo_digit", "photo_number"):
            figures[f"{name}_p50"] = wrk(base, "/api/predict/", payloads[name], seconds, 1, workdir)["p50"]
        figures["rss"] = max(worker_rss_mib(process))
    finally:
        liveserver.stop(process)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=PREVIOUS_MAIN)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-numbers-speed-"))
    baseline = workdir / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        payloads = bodies(workdir)
        results = {label: measure(root, payloads, seconds=args.seconds, workdir=workdir)
                   for label, root in ((f"baseline {args.baseline}", baseline), ("working tree", ROOT))}
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False)
    print(f"{dt.date.today()}; {machine.describe()}; wrk -d{args.seconds}s; gunicorn 2 sync workers\n")
    print("| code | 28×28 PNG req/s (4 clients) | 1600 px photo, one digit, p50 ms | 1600 px photo, 4 digits, "
          "p50 ms | worker RSS MiB |\n| --- | ---: | ---: | ---: | ---: |")
    for label, r in results.items():
        print(f"| {label} | {r['png28_rps']:.0f} | {r['photo_digit_p50']:.2f} | {r['photo_number_p50']:.2f} | "
              f"{r['rss']:.0f} |")
    old, new = results[f"baseline {args.baseline}"], results["working tree"]
    print(f"\n28×28 PNG throughput kept: {new['png28_rps'] / old['png28_rps']:.0%} (goal ≥ 90 %); "
          f"4-digit photo / one-digit photo p50: {new['photo_number_p50'] / new['photo_digit_p50']:.2f}× "
          f"(goal ≤ 2.5×); worker RSS {new['rss']:.0f} MiB (goal ≤ 150)")


if __name__ == "__main__":
    main()
