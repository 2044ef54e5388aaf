"""Reading whole numbers, refusing non-digits and calibration, measured through the real API.

Numbers of 2–6 digits are written (training.number_pictures) with digits of one source: MNIST,
USPS (`x28`) or Semeion (`x28`), each number one writer's jitter in size, slant and baseline, set
apart, close or touching, rendered as a phone photo, lined or squared paper, a transparent canvas,
a scan or white on black, and posted to POST /api/predict/ with Django's test client. A number
counts only if the answer's "number" is exactly right; beside that share, the share of numbers
whose every digit reads right posted alone (`training.evaluation.NumbersTally`). Non-digits
(letters no reader takes for a digit, signs, doodles) must be answered 422 or flagged "uncertain".
Single digits are posted as PNGs; calibration is the expected calibration error of their
top-class confidence (15 bins), and for numbers of the whole reading's confidence against exact
matches.

`--split validation` writes with the last 5,000 MNIST *training* digits and validation-font
letters, for making choices: the digits as they are, and scanned Semeion's way (stretched to 16×16,
thresholded, made 28×28 as Semeion's `x28` is), for numbers and alone, and written a pixel bolder
(a felt pen), in numbers and as 16×16 scans. `--split test` (the default) uses only test-split
handwriting (MNIST test, USPS test, Semeion) and letters in fonts no training saw, and is run once,
at the end. `--classifier DIR` serves another classifier (its model.tflite and
model_card.json, say from `train_base --hold-out-validation`) in the bundled one's place.

    python bench/read_numbers.py [--split test] [--numbers 300] [--diagram docs/reliability.png]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")

#: Fonts for the non-digit letters and signs of the test split: installed with Debian's
#: fonts-dejavu-core, and in no FONT_FOLDERS that training draws glyphs from.
TEST_FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf")


def reliability_diagram(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, *, bins: int = 15) -> None:
    """Accuracy against confidence per bin, one line per set, drawn with Pillow (no plotting library)."""
    from PIL import Image, ImageDraw

    size, margin = 480, 50
    canvas = Image.new("RGB", (size + 2 * margin, size + 2 * margin), "white")
    draw = ImageDraw.Draw(canvas)

    def point(confidence: float, accuracy: float) -> tuple[float, float]:
        return margin + confidence * size, margin + (1.0 - accuracy) * size

    draw.rectangle([margin, margin, margin + size, margin + size], outline="black")
    draw.line([point(0, 0), point(1, 1)], fill=(160, 160, 160), width=1)
    for tick in range(0, 11, 2):
        draw.text((margin + tick / 10 * size - 8, margin + size + 8), f"{tick / 10:.1f}", fill="black")
        draw.text((margin - 34, margin + (1 - tick / 10) * size - 6), f"{tick / 10:.1f}", fill="black")
    draw.text((margin + size / 2 - 40, margin + size + 28), "confidence", fill="black")
    draw.text((8, margin - 30), "accuracy (per bin of 1/15)", fill="black")
    colours = [(37, 99, 235), (220, 38, 38), (22, 163, 74), (202, 138, 4)]
    for (name, (confidences, correct)), colour in zip(curves.items(), colours):
        edges = np.linspace(0.0, 1.0, bins + 1)
        which = np.clip(np.digitize(confidences, edges[1:-1], right=True), 0, bins - 1)
        points = [point(confidences[which == i].mean(), correct[which == i].mean())
                  for i in range(bins) if (which == i).sum() >= 5]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        draw.text((margin + 10, margin + 10 + 16 * colours.index(colour)), name, fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("validation", "test"), default="test")
    parser.add_argument("--numbers", type=int, default=300, help="numbers per set (default 300)")
    parser.add_argument("--non-digits", type=int, default=300, help="non-digit pictures (default 300)")
    parser.add_argument("--singles", type=int, default=None, help="single digits per set (default: all)")
    parser.add_argument("--data", default=None, help="mnist.npz (default: MNIST_PATH)")
    parser.add_argument("--diagram", type=Path, default=None, help="write the reliability diagram here (PNG)")
    parser.add_argument("--classifier", type=Path, default=None,
                        help="a folder with model.tflite and model_card.json to serve instead of the bundled classifier")
    args = parser.parse_args()

    import django
    from django.conf import settings

    workdir = tempfile.mkdtemp(prefix="bench-numbers-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"  # throwaway: never your data
    os.environ["RATELIMIT_PREDICT"] = os.environ["RATELIMIT_FEEDBACK"] = ""
    os.environ["MEDIA_ROOT"] = f"{workdir}/media"
    django.setup()
    if args.classifier:  # the bundled networks, the candidate classifier in the bundled one's place
        served = Path(workdir) / "models"
        shutil.copytree(settings.BUNDLED_MODEL_DIR, served)
        for name in ("model.tflite", "model_card.json"):
            shutil.copy(args.classifier / name, served / name)
        settings.BUNDLED_MODEL_DIR = served
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from predictor.calibration import expected_calibration_error
    from predictor.inference import get_classifier
    from training.scans import mnist_style, scanned_16
    from training.evaluation import NumbersTally, heldout_path, png_bytes
    from training.mnist import load_mnist
    from training.negatives import load_glyphs, render_glyphs, scribble
    from training.number_pictures import SPACINGS, number_pictures, render

    setup_test_environment()
    call_command("migrate", verbosity=0)
    logging.getLogger("django.request").setLevel(logging.ERROR)
    client = Client()

    def post(data: bytes) -> dict | None:
        response = client.post("/api/predict/", {"image": SimpleUploadedFile("n", data)})
        return response.json() if response.status_code == 200 else None

    data_path = args.data or settings.MNIST_PATH
    mnist = load_mnist(path=data_path)
    semeion_way = "MNIST train (last 5,000) scanned Semeion's way"
    if args.split == "validation":
        # A felt pen or a marker: the validation digits with strokes a pixel bolder.
        bolder = np.array([ndimage.grey_dilation(image, size=(3, 3)) for image in mnist.x_train[-5000:]])
        sources = {"MNIST train (last 5,000)": (mnist.x_train[-5000:], mnist.y_train[-5000:]),
                   semeion_way: (np.array([mnist_style(scanned_16(image, stretch=True, threshold=127))
                                           for image in mnist.x_train[-5000:]]), mnist.y_train[-5000:])}
    else:
        sources = {"MNIST test": (mnist.x_test, mnist.y_test)}
        for name, title in (("usps_test", "USPS"), ("semeion", "Semeion")):
            with np.load(heldout_path(mnist_path=data_path, name=name)) as held:
                sources[title] = (held["x28"], held["y"])
    started = time.monotonic()
    rows: list[tuple[str, int, str]] = []

    def numbers_row(name: str, images, labels, *, seed: int, spacings=tuple(SPACINGS)) -> None:
        tally = NumbersTally()
        confidences, right = [], []
        for picture in number_pictures(images, labels, count=args.numbers, seed=seed, spacings=spacings):
            answer = post(picture.data)
            read = answer["number"] if answer else ""
            confidences.append(answer["confidence"] if answer else 0.0)
            right.append(read == picture.label)
            alone = []
            for index, truth in zip(picture.indices, picture.label):
                single = post(png_bytes(images[index]))
                alone.append(bool(single) and single["number"] == truth)
            tally.add(truth=picture.label, read=read, alone=alone)
        ece = expected_calibration_error(np.array(confidences), np.array(right, dtype=float))
        rows.append((name, args.numbers, f"{tally.summary()}; ECE of the number's confidence {ece:.2%}"))

    for seed, (name, (images, labels)) in enumerate(sources.items() if args.numbers else ()):
        numbers_row(f"{name}: numbers of 2–6 digits, all spacings", images, labels, seed=seed)
        numbers_row(f"{name}: touching digits", images, labels, seed=100 + seed, spacings=("touching",))
    if args.split == "validation" and args.numbers:
        numbers_row("MNIST train (last 5,000) written a pixel bolder: numbers of 2–6 digits, all spacings",
                    bolder, mnist.y_train[-5000:], seed=3)
    if args.split == "test" and args.numbers:
        mix_images = np.concatenate([sources["MNIST test"][0][:4000], sources["USPS"][0][:2000], sources["Semeion"][0]])
        mix_labels = np.concatenate([sources["MNIST test"][1][:4000], sources["USPS"][1][:2000], sources["Semeion"][1]])
        weights = np.concatenate([np.full(4000, 0.5 / 4000), np.full(2000, 0.25 / 2000),
                                  np.full(len(sources["Semeion"][1]), 0.25 / len(sources["Semeion"][1]))])
        chosen = np.random.default_rng(9).choice(len(mix_images), size=6000, p=weights)
        numbers_row("Mix: half MNIST, a quarter each USPS and Semeion", mix_images[chosen], mix_labels[chosen], seed=9)

    # Non-digits: letters and signs in fonts training never drew from (test) or the held-out
    # training fonts (validation), and doodles; as scans, photos and white on black.
    if args.split == "test":
        fonts = [path for name in TEST_FONTS for path in Path("/usr/share/fonts").rglob(name)]
        glyphs = render_glyphs(fonts=fonts)[0]
    else:
        from training.detector import VALIDATION_FONTS

        glyphs, font_index = load_glyphs()
        glyphs = glyphs[np.isin(font_index, VALIDATION_FONTS)]
    rng = np.random.default_rng(77)
    refused = flagged = total = 0
    for index in range(args.non_digits):
        if index % 3 < 2 and len(glyphs):
            picture = glyphs[rng.integers(len(glyphs))]
        else:
            picture = scribble(rng=rng)
            if picture is None:
                continue
        ink = np.pad(picture.astype(float) / 255.0, 10)
        data, _ = render(np.kron(ink, np.ones((4, 4))), rendering=("scan", "photo", "white_on_black")[index % 3], rng=rng)
        answer = post(data)
        total += 1
        refused += answer is None
        flagged += answer is not None and answer["uncertain"]
    rows.append(("Not digits: letters, signs, doodles", total,
                 f"{(refused + flagged) / total:.2%} refused or unsure ({refused / total:.2%} refused)"))

    # Single digits as 28×28 (MNIST) and 16×16 (USPS, Semeion) PNGs, and calibration.
    curves = {}

    def single_digits(name: str, images, labels, *, kind: str = "") -> None:
        """Each picture posted alone: right, refused or unsure, and calibration."""
        confidences, correct, doubted = [], [], 0
        for image, label in zip(images, labels):
            answer = post(png_bytes(image))
            if answer is None:
                confidences.append(0.0)
                correct.append(False)
                doubted += 1
                continue
            confidences.append(answer["confidence"])
            correct.append(answer["number"] == str(int(label)))
            doubted += answer["uncertain"]
        confidences, correct = np.array(confidences), np.array(correct, dtype=float)
        curves[name] = (confidences, correct)
        ece = expected_calibration_error(confidences, correct)
        rows.append((f"{name}: single digits" + (f" as {kind}" if kind else ""), len(labels),
                     f"{correct.mean():.2%} right; {doubted / len(labels):.2%} refused or unsure; ECE {ece:.2%}"))

    for name, (images, labels) in sources.items():
        images = images if name.startswith("MNIST") else None
        if images is None:
            with np.load(heldout_path(mnist_path=data_path, name="usps_test" if name == "USPS" else "semeion")) as held:
                images, labels = held["x"], held["y"]
        images, labels = images[: args.singles], labels[: args.singles]
        if name == semeion_way:
            single_digits(name, images, labels, kind="28×28 PNGs (as Semeion's x28)")
        elif name.startswith("MNIST train"):  # validation: also as 16×16 scans, USPS's and Semeion's kind
            single_digits(name, images, labels, kind="PNGs")
            single_digits(f"{name} as 16×16 scans, stretched and thresholded (Semeion's way)",
                          np.array([scanned_16(image, stretch=True, threshold=127) for image in images]), labels)
            single_digits(f"{name} as 16×16 scans, in proportion, grey",
                          np.array([scanned_16(image, stretch=False, threshold=None) for image in images]), labels)
            single_digits(f"{name} written a pixel bolder (a felt pen), as 16×16 scans, stretched and thresholded",
                          np.array([scanned_16(image, stretch=True, threshold=127)
                                    for image in bolder[: args.singles]]), labels)
        else:
            single_digits(name, images, labels, kind="PNGs")
    if args.diagram:
        reliability_diagram(curves, args.diagram)

    print(f"Model {get_classifier().version}; split {args.split}; {dt.date.today()}; {machine.describe()}; "
          f"{time.monotonic() - started:.0f} s\n")
    print("| set | pictures | result |\n| --- | ---: | --- |")
    for name, count, result in rows:
        print(f"| {name} | {count:,} | {result} |")


if __name__ == "__main__":
    main()
