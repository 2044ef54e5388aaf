"""Where one prediction's time goes, stage by stage, in one process (no server, no network).

Times each stage of POST /api/predict/ on its own — multipart parsing, decoding, preparation,
the LiteRT forward pass, storing the original, signing the token — and the whole request through
Django's WSGI handler with every middleware, plus GET /healthz as the cost of Django itself.
For a 28×28 MNIST PNG, a 1000×1000 phone-photo JPEG, a 4000×3000 camera JPEG and that photo as the
upload page sends it. Microseconds per call, best of 5 runs.

    python bench/request_costs.py [--repeat 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.serve import UNREACHABLE_RATE  # noqa: E402


def best_of(function, repeat: int) -> float:
    function()
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(repeat):
            function()
        runs.append((time.perf_counter() - started) / repeat * 1e6)
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-costs-"))
    from predictor.tests import liveserver

    os.environ.update(liveserver.throwaway_env(workdir, RATELIMIT_PREDICT=UNREACHABLE_RATE))
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command
    from PIL import Image

    from mnistsite.wsgi import application
    from predictor import preprocessing, services, tokens
    from predictor.inference import get_classifier
    from predictor.views import PHOTO_UPLOAD_SIDE
    from predictor.tests import renders

    call_command("migrate", verbosity=0)
    digits, _ = renders.mnist_samples()
    # A camera's own JPEG, as a page without JavaScript (or an API client) sends it, and the same
    # photo as the upload page's script sends it: shrunk to PHOTO_UPLOAD_SIDE, JPEG quality 92.
    camera = renders.phone_photo(digits[5], size=(3000, 4000), digit_height=1040)
    side = PHOTO_UPLOAD_SIDE
    photo = Image.open(io.BytesIO(camera))
    shrunk = renders.encode(photo.resize((side, round(photo.height * side / photo.width)), Image.Resampling.LANCZOS),
                            "JPEG", quality=92)
    uploads = {"28×28 PNG": renders.encode(Image.fromarray(digits[0])),
               "1000×1000 JPEG": renders.large_phone_photo(digits[5]),
               f"4000×3000 camera JPEG ({len(camera) / 1e6:.1f} MB)": camera,
               f"the same at {side} px ({len(shrunk) / 1e3:.0f} KB)": shrunk}
    classifier = get_classifier()

    def request(method: str, path: str, body: bytes = b"", content_type: str = "") -> None:
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "CONTENT_TYPE": content_type,
                   "CONTENT_LENGTH": str(len(body)), "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                   "HTTP_HOST": "127.0.0.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(body),
                   "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1"}
        statuses = []
        b"".join(application(environ, lambda status, headers, exc=None: statuses.append(status)))
        assert statuses[0].startswith("200"), statuses

    print(f"{dt.date.today()}; {machine.describe()}; µs per call, best of 5 × {args.repeat}\n")
    print("| stage | " + " | ".join(uploads) + " |\n| --- |" + " ---: |" * len(uploads))
    rows: dict[str, list[float]] = {}
    for data in uploads.values():
        body, content_type = liveserver.multipart(data)
        image, image_format = preprocessing.open_image(data)
        pixels = preprocessing.prepare_digit(image)
        prediction = classifier.predict(pixels=pixels)
        stages = {
            "decode (open_image)": lambda: preprocessing.open_image(data),
            "prepare_digit": lambda: preprocessing.prepare_digit(preprocessing.open_image(data)[0]),
            "LiteRT forward pass": lambda: classifier.predict(pixels=pixels),
            "store the original": lambda: services.store_original(data=data, image_format=image_format,
                                                                  token_id=uuid.uuid4().hex),
            "sign the feedback token": lambda: tokens.make_feedback_token(
                token_id=uuid.uuid4().hex, upload_name="uploads/x.png", pixels=pixels,
                predicted_digit=prediction.digit, probabilities=prediction.probabilities,
                model_version=prediction.model_version),
            "whole request (Django WSGI)": lambda: request("POST", "/api/predict/", body, content_type),
            "GET /healthz (Django alone)": lambda: request("GET", "/healthz"),
        }
        # photos take milliseconds each, a camera's own JPEG tens of them
        repeat = args.repeat if len(data) < 10_000 else max(args.repeat // 10, 20) if len(data) < 1_000_000 else 10
        for name, stage in stages.items():
            rows.setdefault(name, []).append(best_of(stage, repeat))
    rows["prepare_digit"] = [both - decode for both, decode in zip(rows["prepare_digit"], rows["decode (open_image)"])]
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{value:,.0f}" for value in values) + " |")


if __name__ == "__main__":
    main()
