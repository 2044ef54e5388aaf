"""Full-size accuracy of a model through the real API (run by hand: `make bench`).

Posts every MNIST test image (10,000) and every held-out digit (USPS 2,007, Semeion 1,593) as a
PNG to POST /api/predict/ with Django's test client (the whole request path: multipart parsing,
decoding, preprocessing, LiteRT), and also feeds MNIST test straight to the model. Then the first
`--photos` MNIST test digits rendered as phone-photo JPEGs (ink on unevenly lit paper, sensor
noise): large and thick, large with a fine pen, smaller, and small with a fine pen on a 1000×1000
photo. Prints a Markdown table for docs/benchmarks.md.

    python bench/evaluate_model.py [--model-dir DIR] [--data mnist.npz] [--photos 500]
"""

from __future__ import annotations

import argparse
import functools
import json
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")


#: Phone-photo renders: (description, (height, width), digit height, pen width or None for MNIST's
#: own proportionally thick strokes).
PHOTOS = (
    ("1000×750, digit 430 px, thick strokes", (1000, 750), 430, None),
    ("1000×750, digit 430 px, 8 px pen", (1000, 750), 430, 8),
    ("1000×750, digit 200 px, 4 px pen", (1000, 750), 200, 4),
    ("1000×1000, digit 120 px, 3 px pen", (1000, 1000), 120, 3),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=None, help="default: the bundled model")
    parser.add_argument("--data", default=None, help="mnist.npz (default: MNIST_PATH)")
    parser.add_argument("--photos", type=int, default=500, help="MNIST test digits per kind of photo (0: none)")
    args = parser.parse_args()

    import tempfile

    import django
    from django.conf import settings

    workdir = tempfile.mkdtemp(prefix="bench-evaluate-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"  # throwaway: never your data
    os.environ["RATELIMIT_PREDICT"] = os.environ["RATELIMIT_FEEDBACK"] = ""  # one client, thousands of posts
    os.environ["MEDIA_ROOT"] = f"{workdir}/media"
    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from predictor import inference
    from predictor.tests import renders
    from training.evaluation import HELDOUT_SETS, accuracy_direct, heldout_path, load_heldout, png_bytes
    from training.mnist import load_mnist

    setup_test_environment()
    call_command("migrate", verbosity=0)
    logging.getLogger("django.request").setLevel(logging.ERROR)  # 422s for "no digit" are counted
    if args.model_dir:  # measure another model: make it the active version of the throwaway database
        from training.registry import activate, register_model

        card = json.loads((args.model_dir / "model_card.json").read_text())
        activate(register_model(name=card["version"] + "-measured", keras_path=args.model_dir / "model.keras",
                                tflite_path=args.model_dir / "model.tflite"))
    data_path = args.data or settings.MNIST_PATH
    data = load_mnist(path=data_path)
    classifier = inference.get_classifier()
    client = Client()

    def through_api(images, labels, encode) -> tuple[float, int]:
        """`encode(index, image)` gives the bytes to upload."""
        hits = refused = 0
        for index, (image, label) in enumerate(zip(images, labels)):
            response = client.post("/api/predict/", {"image": SimpleUploadedFile("d", encode(index, image))})
            if response.status_code == 200:
                hits += response.json()["digit"] == int(label)
            else:
                refused += 1
        return hits / len(labels), refused

    rows = []
    started = time.monotonic()
    rows.append(("MNIST test, fed to the model", len(data.y_test), accuracy_direct(classifier, data.x_test, data.y_test), 0))
    accuracy, refused = through_api(data.x_test, data.y_test, lambda _, image: png_bytes(image))
    rows.append(("MNIST test, 28×28 PNG through the API", len(data.y_test), accuracy, refused))
    for name in HELDOUT_SETS:
        path = heldout_path(mnist_path=data_path, name=name)
        if path.is_file():
            images, labels = load_heldout(path)
            accuracy, refused = through_api(images, labels, lambda _, image: png_bytes(image))
            rows.append((f"{name}, 16×16 PNG through the API", len(labels), accuracy, refused))
    for name, size, height, pen in PHOTOS:
        photo = functools.partial(renders.phone_photo, size=size, digit_height=height, pen_width=pen)
        accuracy, refused = through_api(data.x_test[: args.photos], data.y_test[: args.photos],
                                        lambda index, image: photo(image, seed=index))
        rows.append((f"MNIST test as phone photos: {name}", min(args.photos, len(data.y_test)), accuracy, refused))

    print(f"Model {classifier.version}; {dt.date.today()}; {machine.describe()}; {time.monotonic() - started:.0f} s\n")
    print("| set | images | accuracy | refused as no digit |\n| --- | ---: | ---: | ---: |")
    for name, count, accuracy, refused in rows:
        print(f"| {name} | {count:,} | {accuracy:.2%} | {refused} |")


if __name__ == "__main__":
    main()
