"""What stands between the app and the performance issue's ≥ 2,000 req/s at p50 ≤ 2 ms on this machine.

Serves POST /api/predict/ four ways behind the container's gunicorn config (bench/ceiling_apps.py):
the app as deployed; the same with the network's forward pass skipped; the upload read without
Django's request handling; and both. wrk posts the 28×28 PNG and the 1000×1000 JPEG of
bench/serve.py, under --connections clients. The configurations take turns, --rounds times, so
drift in the machine's speed falls on all of them alike. A diagnosis, not a product: the last three
leave out what the app needs (the answer itself, or host checks, rate limits, security headers,
request logging).

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
CONFIGURATIONS = (
    ("the app as deployed", "bench.ceiling_apps:django_application", {}),
    ("the app, forward pass skipped", "bench.ceiling_apps:django_application", SKIP),
    ("without Django's request handling", "bench.ceiling_apps:bare_application", {}),
    ("without both", "bench.ceiling_apps:bare_application", SKIP),
)
UPLOADS = (("png28", "28×28 PNG"), ("jpeg1000", "1000×1000 JPEG"))


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
        for name, app, extra in CONFIGURATIONS:
            process, base, _ = liveserver.start_gunicorn({**env, **extra}, app=app)
            try:
                for body, upload in UPLOADS:
                    r = wrk(base, "/api/predict/", payloads[body], args.seconds, args.connections, workdir)
                    print(f"| {name} | {upload} | {round_number} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p99']:.2f} "
                          f"| {r['errors']} |", flush=True)
            finally:
                liveserver.stop(process)


if __name__ == "__main__":
    main()
