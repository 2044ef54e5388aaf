"""`train_detector` over several seeds, and how well each run refuses what is not a digit.

Detectors trained by the same recipe with another seed refuse very different shares of letters
they never saw (on 2026-11-29, seeds 1 and 2 of the bundled recipe: 81.3 and 86.4 % of the
validation non-digits refused or doubted; docs/model.md, "The detector's seed"), so one run says
little about a recipe, and the seed is worth choosing. This trains each seed (skipped where
--output already holds it), then scores every detector on the same pictures, with each one's own
thresholds (those refuse a fixed share of the validation digits, so the digits' cost is the same):

- the validation non-digits of seed 1 (letters of the four held-out training fonts, pieces and
  pairs of the held-out digits, scribbles), as `train_detector` makes them;
- letters and signs in fonts no training draws from: Debian font packages outside
  `training.negatives.FONT_FOLDERS` and TYPESET_FONTS and outside the test split's DejaVu fonts
  (install them first: UNSEEN_FONT_PACKAGES); validation data too, as no test figure is involved;
- every validation digit as a 16×16 scan, doubted: what USPS and Semeion writers may pay.

    python bench/detector_seeds.py [--seeds 1 2 3] [--output DIR] [--data mnist.npz] [--compare FILE …]

About 7 minutes a seed on 2 cores (AMD Zen 5). `--compare` scores detector files already trained
(the bundled one, say) beside them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mnistsite.settings")

#: Handwriting, informal and typeset fonts no training draws letters from (Debian packages).
UNSEEN_FONT_PACKAGES = (
    "fonts-bwht fonts-dancingscript fonts-kaushanscript fonts-lobster fonts-opendyslexic fonts-ecolier-court "
    "fonts-humor-sans fonts-isabella fonts-klee fonts-kristi fonts-leckerli-one fonts-staypuft "
    "fonts-tlwg-purisa-ttf fonts-liberation2 fonts-freefont-ttf fonts-sil-charis fonts-cantarell"
)
UNSEEN_FONT_FOLDERS = ("bwht", "dancingscript", "kaushanscript", "lobster", "opendyslexic", "ecolier-court",
                       "humor-sans", "isabella", "klee", "kristi", "leckerli-one", "staypuft", "tlwg",
                       "liberation2", "freefont", "charis", "cantarell")
HEADER = ("| detector | wall | validation non-digits refused / doubted | unseen fonts' letters refused / doubted "
          "| scanned digits doubted |\n| --- | ---: | ---: | ---: | ---: |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--output", type=Path, default=ROOT / "training" / "runs" / "detector_seeds")
    parser.add_argument("--data", default=None, help="mnist.npz (default: MNIST_PATH)")
    parser.add_argument("--compare", type=Path, nargs="*", default=[], help="detector files trained already")
    args = parser.parse_args()

    walls: dict[str, str] = {}
    for seed in args.seeds:
        directory = args.output / f"seed{seed}"
        if (directory / "detector_card.json").is_file():
            walls[str(directory / "detector.tflite")] = "(trained before)"
            continue
        started = time.monotonic()
        command = [sys.executable, str(ROOT / "manage.py"), "train_detector", "--seed", str(seed),
                   "--output", str(directory), "--verbosity", "0"] + (["--data", args.data] if args.data else [])
        subprocess.run(command, check=True)
        walls[str(directory / "detector.tflite")] = f"{time.monotonic() - started:.0f} s"

    import django
    from django.conf import settings

    django.setup()
    from training.detector import DetectorConfig, choose_threshold, litert_scores, validation_pictures
    from training.mnist import load_mnist
    from training.negatives import installed_fonts, render_glyphs

    config = DetectorConfig()
    pictures = validation_pictures(mnist=load_mnist(path=args.data or settings.MNIST_PATH), config=config)
    fonts = installed_fonts(folders=UNSEEN_FONT_FOLDERS, typeset=())
    unseen = render_glyphs(fonts=fonts)[0] if fonts else np.zeros((0, 28, 28), np.uint8)
    print(f"{dt.date.today()}; {machine.describe()}; {len(pictures['valid_non_digits'])} validation non-digits, "
          f"{len(unseen)} letters and signs in {len(fonts)} unseen fonts\n")
    print(HEADER)
    for path in [*args.compare, *(Path(name) for name in walls)]:
        digits = litert_scores(path, pictures["valid_digits"])
        threshold = choose_threshold(digits, refused_digits=config.refused_digits)
        unsure_below = choose_threshold(digits, refused_digits=config.doubted_digits)

        def shares(scores: np.ndarray) -> str:
            if not len(scores):
                return "–"
            return f"{np.mean(scores < threshold):.1%} / {np.mean(scores < unsure_below):.1%}"

        scanned = litert_scores(path, pictures["valid_scanned_digits"])
        print(f"| {path} | {walls.get(str(path), '')} | {shares(litert_scores(path, pictures['valid_non_digits']))} "
              f"| {shares(litert_scores(path, unseen))} | {np.mean(scanned < unsure_below):.2%} |")


if __name__ == "__main__":
    main()
