"""Serving throughput and latency, the app as the container runs it vs a model.predict baseline.

Starts gunicorn with mnistsite/gunicorn.conf.py (2 sync workers) on loopback, then the same server
with bench/naive_app.py (Keras `model.predict` per request), and drives each with wrk (Debian's
`wrk`) posting one 28×28 PNG, then one 1000×1000 phone-photo JPEG, then the PNG with
feature_maps=1, then the photo through the upload form (the HTML result page a browser gets, with
its chart and feature-map grids): first with --connections clients (throughput, and latency under
load: with 4 clients and 2 workers every request waits for one other), then with one client at a
time (the latency of a single request). Also reports each worker's RSS and the time from process
start to first answer.
Loopback only; every run stops by itself.

    python bench/serve.py [--seconds 15] [--connections 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

from predictor.tests import liveserver  # noqa: E402

WRK_SCRIPT = """
wrk.method = "POST"
local f = io.open("{body}", "rb")
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "{content_type}"
wrk.headers["Cookie"] = "csrftoken={csrf}"
"""
#: The upload form's CSRF secret, sent as the cookie and the form field a browser would send.
CSRF_SECRET = "benchmarkbenchmarkbenchmarkbench"

#: The API's rate limit stays on, as deployed, so what it costs (≈ 6 % of a small upload's request) is
#: measured. wrk posts from one address and would exhaust the real limit at once, so its rate is one
#: that no run reaches.
UNREACHABLE_RATE = "1000000000/h"


def prepared_app(prefix: str) -> tuple[Path, dict[str, str], dict[str, tuple[Path, str]]]:
    """A throwaway folder, the app's environment there as the container has it (static files
    collected, database migrated, rate limiter on) and the request bodies wrk posts."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    env = liveserver.throwaway_env(workdir, RATELIMIT_PREDICT=UNREACHABLE_RATE)
    liveserver.collect_static(env)
    liveserver.migrate(env)
    return workdir, env, bodies(workdir)


def bodies(workdir: Path) -> dict[str, tuple[Path, str]]:
    from PIL import Image

    from predictor.tests import renders

    digits, _ = renders.mnist_samples()
    photo = renders.large_phone_photo(digits[5])
    files = {"png28": (renders.encode(Image.fromarray(digits[0])), {}), "jpeg1000": (photo, {}),
             "jpeg1000_form": (photo, {"csrfmiddlewaretoken": CSRF_SECRET})}
    out = {}
    for name, (data, fields) in files.items():
        body, content_type = liveserver.multipart(data, fields=fields)
        path = workdir / f"{name}.body"
        path.write_bytes(body)
        out[name] = (path, content_type)
    return out


def worker_rss_mib(server: subprocess.Popen) -> list[float]:
    sizes = []
    for pid in liveserver.worker_pids(server):
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
    return sizes


def wrk(base: str, path: str, body: tuple[Path, str], seconds: int, connections: int, workdir: Path) -> dict:
    script = workdir / f"{uuid.uuid4().hex}.lua"
    script.write_text(WRK_SCRIPT.format(body=body[0], content_type=body[1], csrf=CSRF_SECRET))
    result = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s",
                             str(script), base + path], capture_output=True, text=True, timeout=seconds + 60)
    text = result.stdout

    def ms(label: str) -> float:
        match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", text)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)), "p50": ms("50"), "p90": ms("90"),
            "p99": ms("99"), "errors": int(non2xx.group(1)) if non2xx else 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    workdir, env, payloads = prepared_app("bench-serve-")
    print(f"{dt.date.today()}; {machine.describe()}; wrk -t2 -c{args.connections} "
          f"(then -t1 -c1) -d{args.seconds}s; gunicorn 2 sync workers\n")
    print("| server | upload | req/s | p50 ms | p90 ms | p99 ms | non-2xx |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for label, app in (("app (LiteRT)", "mnistsite.wsgi:application"), ("baseline (model.predict)", "bench.naive_app:application")):
        process, base, boot = liveserver.start_gunicorn(env, app=app)
        try:
            runs = [("png28", "/api/predict/", "28×28 PNG"), ("jpeg1000", "/api/predict/", "1000×1000 JPEG"),
                    ("png28", "/api/predict/?feature_maps=1", "28×28 PNG + feature maps"),
                    ("jpeg1000_form", "/predict/", "1000×1000 JPEG, upload form's result page")]
            for connections in (args.connections, 1):
                for body, path, name in runs:
                    if "baseline" in label and ("feature" in name or "form" in name):
                        continue
                    r = wrk(base, path, payloads[body], args.seconds, connections, workdir)
                    clients = "" if connections == args.connections else ", one client"
                    print(f"| {label} | {name}{clients} | {r['rps']:.0f} | {r['p50']:.2f} | {r['p90']:.2f} | "
                          f"{r['p99']:.2f} | {r['errors']} |")
            rss = worker_rss_mib(process)
            print(f"| {label} | start to first answer {boot:.2f} s; worker RSS {', '.join(f'{m:.0f}' for m in rss)} MiB | | | | | |")
        finally:
            liveserver.stop(process)


if __name__ == "__main__":
    main()
