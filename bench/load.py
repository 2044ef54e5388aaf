"""Load and hot-swap test against the app started the way the container starts it (run by hand).

Starts gunicorn with mnistsite/gunicorn.conf.py on a loopback port (throwaway SQLite database and
media folder), then N client threads post a mix of valid and invalid uploads for D seconds:
28×28 PNGs, phone-photo JPEGs, text files, truncated PNGs and blank pages. With --finetune, a
finetune that promotes a new model version runs while the load is on. Reports status counts,
5xx, connection errors, throughput, latency percentiles and when answers switched version.
Only 127.0.0.1 is ever contacted, and the run stops by itself.

    python bench/load.py [--clients 8] [--seconds 30] [--finetune] [--workers 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import http.client
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

from predictor.tests import liveserver  # noqa: E402


def payloads() -> list[tuple[str, bytes, bool]]:
    """(kind, file bytes, whether a prediction is expected)."""
    from PIL import Image

    from predictor.tests import renders

    digits, _ = renders.mnist_samples()
    valid = [("png28", renders.encode(Image.fromarray(digit)), True) for digit in digits]
    photos = [("photo", renders.phone_photo(digit, seed=i), True) for i, digit in enumerate(digits[:4])]
    png = valid[0][1]
    invalid = [("text", b"hello, not a picture", False), ("truncated", png[: len(png) // 2], False),
               ("blank", renders.blank_page(), False), ("empty", b"", False)]
    return valid * 3 + photos + invalid * 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--finetune", action="store_true", help="promote a finetuned model during the load")
    parser.add_argument("--data", default=None, help="mnist.npz for the finetune (default: MNIST_PATH)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = liveserver.throwaway_env(workdir, GUNICORN_THREADS=str(args.threads), MODEL_REFRESH_SECONDS="1",
                                   RATELIMIT_PREDICT="", RATELIMIT_FEEDBACK="")
    liveserver.migrate(env)
    server, base, _ = liveserver.start_gunicorn(env, workers=args.workers)
    try:
        run_load(args, env, int(base.rsplit(":", 1)[1]))
    finally:
        liveserver.stop(server)


def run_load(args, env: dict, port: int) -> None:
    mix = payloads()
    statuses: collections.Counter = collections.Counter()
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    versions: list[tuple[float, str]] = []
    errors = collections.Counter()
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + args.seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < stop_at:
            kind, data, _ = rng.choice(mix)
            body, content_type = liveserver.multipart(data)
            begin = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("POST", "/api/predict/", body=body, headers={"Content-Type": content_type})
                response = connection.getresponse()
                payload = response.read()
                connection.close()
            except OSError as error:
                with lock:
                    errors[type(error).__name__] += 1
                continue
            elapsed = time.perf_counter() - begin
            with lock:
                statuses[response.status] += 1
                latencies[kind].append(elapsed)
                if response.status == 200:
                    versions.append((time.monotonic() - started, json.loads(payload)["model_version"]))

    finetune_log: dict = {}
    if args.finetune:
        threading.Thread(target=finetune_during_load, args=(args, env, port, started, finetune_log), daemon=True).start()
    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    report(args, statuses, latencies, versions, errors, duration, finetune_log)


def finetune_during_load(args, env: dict, port: int, started: float, log: dict) -> None:
    """A third into the run: 40 users confirm MNIST digits, a reviewer approves, finetune runs."""
    time.sleep(args.seconds / 3)
    script = f"""
import django, json, http.client, uuid, datetime as dt
django.setup()
from PIL import Image
from feedback.models import Feedback
from training.mnist import load_mnist
from django.conf import settings
from predictor.tests import renders
data = load_mnist(path={args.data!r} or settings.MNIST_PATH)
for image, label in zip(data.x_test[:40], data.y_test[:40]):
    boundary = uuid.uuid4().hex
    body = (f"--{{boundary}}\\r\\nContent-Disposition: form-data; name=\\"image\\"; filename=\\"d.png\\"\\r\\n\\r\\n").encode() \\
        + renders.encode(Image.fromarray(image)) + f"\\r\\n--{{boundary}}--\\r\\n".encode()
    c = http.client.HTTPConnection("127.0.0.1", {port}); c.request("POST", "/api/predict/", body=body,
        headers={{"Content-Type": f"multipart/form-data; boundary={{boundary}}"}})
    token = json.loads(c.getresponse().read())["feedback_token"]
    c = http.client.HTTPConnection("127.0.0.1", {port}); c.request("POST", "/api/feedback/",
        body=json.dumps({{"feedback_token": token, "label": int(label)}}), headers={{"Content-Type": "application/json"}})
    c.getresponse().read()
Feedback.objects.update(status="approved", reviewed_at=dt.datetime.now(dt.timezone.utc))
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)
    log["finetune_started"] = time.monotonic() - started
    result = subprocess.run([sys.executable, "manage.py", "finetune", "--min-records", "10", "--epochs", "1",
                             "--verbosity", "0"] + (["--data", args.data] if args.data else []),
                            cwd=ROOT, env=env, capture_output=True, text=True)
    log["finetune_finished"] = time.monotonic() - started
    log["finetune_output"] = result.stdout.strip()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] * 1000 if ordered else float("nan")


def report(args, statuses, latencies, versions, errors, duration, finetune_log) -> None:
    total = sum(statuses.values())
    print(f"{dt.date.today()}; {machine.describe()}; gunicorn {args.workers} workers × "
          f"{args.threads} threads; {args.clients} clients for {duration:.1f} s")
    print(f"requests: {total} ({total / duration:.0f}/s); statuses: {dict(sorted(statuses.items()))}; "
          f"5xx: {sum(n for s, n in statuses.items() if s >= 500)}; connection errors: {sum(errors.values())} {dict(errors)}")
    print("| upload | requests | p50 ms | p90 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: |")
    for kind, values in sorted(latencies.items()):
        print(f"| {kind} | {len(values)} | {percentile(values, 50):.1f} | {percentile(values, 90):.1f} | "
              f"{percentile(values, 99):.1f} |")
    if finetune_log:
        names = []
        for _, version in versions:
            if not names or names[-1] != version:
                names.append(version)
        switch = next((t for t, version in versions if version != versions[0][1]), None)
        last_old = max((t for t, version in versions if version == versions[0][1]), default=None)
        print(f"\nfinetune: started at {finetune_log.get('finetune_started', float('nan')):.1f} s, finished at "
              f"{finetune_log.get('finetune_finished', float('nan')):.1f} s; output: {finetune_log.get('finetune_output', '')!r}")
        print(f"versions answered, in order: {names}; first answer from a new version at "
              f"{switch:.3f} s, last from the first one at {last_old:.3f} s" if switch else f"versions answered: {names}")


if __name__ == "__main__":
    main()
