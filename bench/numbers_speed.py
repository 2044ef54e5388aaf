"""Serving speed with numbers read, side by side with an earlier commit, in one run on one machine.

Checks out `--baseline` (by default the main before numbers were read) into a temporary git
worktree, then serves it and the working tree at once with the container's gunicorn config (2 sync
workers each) on loopback, and measures them in turn with wrk (Debian's `wrk`), `--rounds` times,
which goes first alternating, so a slow spell of a shared machine does not fall on one tree only;
the goals are judged on the rounds' medians:

- a 28×28 single-digit PNG under 4 clients (throughput; goal: ≥ 90 % of the baseline's);
- one client at a time, a 1600 px phone photo of one digit and a 1600 px phone photo of a
  4-digit number (p50; goal: the number's at most 2.5× the single digit's, on the working tree);
- each worker's RSS after the runs (goal ≤ 150 MiB).

    python bench/numbers_speed.py [--baseline COMMIT] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
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


def start(root: Path, *, workdir: Path):
    """The tree at `root` served as the container serves it, with its own database and media."""
    server_dir = workdir / f"{root.name}-server"  # its database, media and static files, beside the code
    server_dir.mkdir()
    env = liveserver.throwaway_env(server_dir, RATELIMIT_PREDICT=UNREACHABLE_RATE)
    liveserver.collect_static(env, root=root)
    liveserver.migrate(env, root=root)
    process, base, _ = liveserver.start_gunicorn(env, root=root)
    return process, base


def measure(base: str, payloads: dict, *, seconds: int, workdir: Path) -> dict[str, float]:
    figures = {"png28_rps": wrk(base, "/api/predict/", payloads["png28"], seconds, 4, workdir)["rps"]}
    for name in ("photo_digit", "photo_number"):
        figures[f"{name}_p50"] = wrk(base, "/api/predict/", payloads[name], seconds, 1, workdir)["p50"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=PREVIOUS_MAIN)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of both trees, taking turns, which goes first alternating (default 3)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-numbers-speed-"))
    baseline = workdir / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=ROOT, check=True,
                   capture_output=True)
    labels = (f"baseline {args.baseline}", "working tree")
    servers = {}
    try:
        payloads = bodies(workdir)
        for label, root in zip(labels, (baseline, ROOT)):
            servers[label] = start(root, workdir=workdir)
        rounds: list[dict[str, dict[str, float]]] = []
        for turn in range(args.rounds):  # both served at once, measured in turn: a slow spell hits both
            order = labels if turn % 2 == 0 else labels[::-1]
            rounds.append({label: measure(servers[label][1], payloads, seconds=args.seconds, workdir=workdir)
                           for label in order})
        rss = {label: max(worker_rss_mib(process)) for label, (process, _) in servers.items()}
    finally:
        for process, _ in servers.values():
            liveserver.stop(process)
        subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False)
    print(f"{dt.date.today()}; {machine.describe()}; wrk -d{args.seconds}s; gunicorn 2 sync workers; "
          f"{args.rounds} rounds\n")
    print("| round | code | 28×28 PNG req/s (4 clients) | 1600 px photo, one digit, p50 ms | 1600 px photo, "
          "4 digits, p50 ms |\n| --- | --- | ---: | ---: | ---: |")
    for turn, results in enumerate(rounds, start=1):
        for label in labels:
            r = results[label]
            print(f"| {turn} | {label} | {r['png28_rps']:.0f} | {r['photo_digit_p50']:.2f} | "
                  f"{r['photo_number_p50']:.2f} |")
    kept = [results["working tree"]["png28_rps"] / results[labels[0]]["png28_rps"] for results in rounds]
    ratio = [results["working tree"]["photo_number_p50"] / results["working tree"]["photo_digit_p50"]
             for results in rounds]
    print(f"\n28×28 PNG throughput kept, each round: {', '.join(f'{k:.0%}' for k in kept)}; median "
          f"{statistics.median(kept):.0%} (goal ≥ 90 %); 4-digit photo / one-digit photo p50: median "
          f"{statistics.median(ratio):.2f}× (goal ≤ 2.5×); worker RSS {rss['working tree']:.0f} MiB, baseline "
          f"{rss[labels[0]]:.0f} (goal ≤ 150)")


if __name__ == "__main__":
    main()
