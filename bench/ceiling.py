"""What stands between the app and the performance issue's ≥ 2,000 req/s at p50 ≤ 2 ms on this machine.

Serves POST /api/predict/ several ways behind the container's gunicorn config (bench/ceiling_apps.py),
each leaving out one thing a request does: the network's forward pass; the 28×28 picture's checks
and preparation; the feedback token; preparation and token together; Django's request handling;
Django's request handling and the forward pass. wrk posts the 28×28 PNG (and, where the
configuration can read it, the 1000×1000 JPEG) of bench/serve.py, under --connections clients. The
configurations take turns, --rounds times, so drift in the machine's speed falls on all of them
alike. A diagnosis, not a product: all but the first leave out what the app needs (the answer
itself, the noise checks, feedback, host checks, rate limits, security headers, request logging).

    python bench/ceiling.py [--seconds 6] [--rounds 2] [--connections 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.serve import prepared_app, wrk  # noqa: E402

from predictor.tests import liveserver  # noqa: E402

SKIP = {"CEILING_SKIP_FORWARD_PASS": "1"}
NO_PREPARATION, NO_TOKEN = {"CEILING_SKIP_PREPARATION": "1"}, {"CEILING_SKIP_TOKEN": "1"}
DJANGO, BARE = "bench.ceiling_apps:django_application", "bench.ceiling_apps:bare_application"
BOTH_UPLOADS = (("png28", "28×28 PNG"), ("jpeg1000", "1000×1000 JPEG"))
PNG_ONLY = BOTH_UPLOADS[:1]  # a photo cannot reach the network unprepared
CONFIGURATIONS = (
    ("the app as deployed", DJANGO, {}, BOTH_UPLOADS),
    ("the app, forward pass skipped", DJANGO, SKIP, BOTH_UPLOADS),
    ("the app, preparation skipped", DJANGO, NO_PREPARATION, PNG_ONLY),
    ("the app, feedback token skipped", DJANGO, NO_TOKEN, BOTH_UPLOADS),
    ("the app, preparation and token skipped", DJANGO, {**NO_PREPARATION, **NO_TOKEN}, PNG_ONLY),
    ("without Django's request handling", BARE, {}, BOTH_UPLOADS),
    ("without Django's request handling and the forward pass", BARE, SKIP, BOTH_UPLOADS),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    workdir, env, payloads = prepared_app("bench-ceiling-")
    print(f"{dt.date.today()}; {machine.describe()}; wrk -t2 -c{args.connections} -d{args.seconds}s, "
          f"{args.rounds} rounds; gunicorn 2 sync workers\n")
    print("| served | upload | round | req/s | p50 ms | p99 ms | non-2xx |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for round_number in range(1, args.rounds + 1):
        for name, app, extra, uploads in CONFIGURATIONS:
            process, base, _ = liveserver.start_gunicorn({**env, **extra}, app=app)
            try:
                for body, upload in uploads:
                    r = wrk(base, "/api/predict/", payloads[body], args.seconds, args.connections, workdir)
                    print(f"| {name} | {upload} | {round_number} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
                          f"| {r['errors']} |", flush=True)
            finally:
                liveserver.stop(process)


if __name__ == "__main__":
    main()
