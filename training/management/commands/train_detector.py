"""`python manage.py train_detector`: train the digit detector that refuses non-digits."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from predictor.rejection import DETECTOR, SEGMENT_SCORER
from training.management.arguments import check_numbers, mnist_file, output_folder
from training.mnist import MnistFileInvalid
from training.negatives import FONT_PACKAGES

#: Numbers written from training digits whose pieces the segment scorer learns from.
SEGMENT_SCORER_NUMBERS = 2000


class Command(BaseCommand):
    help = (
        "Train the digit detector (one digit or not) on MNIST training digits against letters, signs, "
        "scribbles, fragments and touching pairs; write detector.tflite and its card (or, with --segment-scorer, "
        "its twin that judges the pieces the segmenter cuts out of numbers)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", default=None, help="Path to mnist.npz (default: MNIST_PATH).")
        parser.add_argument("--epochs", type=int, default=None, help="Training epochs (default: DetectorConfig's, 10).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument("--train-limit", type=int, default=None, help="Use only the first N training digits.")
        parser.add_argument(
            "--segment-scorer", action="store_true",
            help="Train the segment scorer instead: the same network, also taught the pieces the segmenter cuts "
            "out of numbers; writes segment_scorer.tflite and segment_scorer_card.json.",
        )
        parser.add_argument(
            "--segmentation-numbers", type=int, default=None,
            help=f"With --segment-scorer: numbers whose pieces are learnt from (default {SEGMENT_SCORER_NUMBERS}).",
        )
        parser.add_argument(
            "--render-glyphs",
            action="store_true",
            help="First render training/data/glyphs.npz anew from the installed handwriting and typeset fonts "
            f"(Debian: {FONT_PACKAGES}).",
        )
        parser.add_argument(
            "--rechoose-thresholds",
            action="store_true",
            help="Train nothing: choose the thresholds of the network already in --output anew, by the current "
            "shares of validation digits refused and doubted, and rewrite its card.",
        )
        parser.add_argument(
            "--output",
            default=None,
            help="Directory for the network and its card (default: training/runs/detector; copy both into "
            "training/base_model/ to bundle them).",
        )

    def handle(self, *args, **options):
        check_numbers(options, counts=("epochs", "train_limit", "segmentation_numbers"), seeds=("seed",), shares=())
        from training.detector import DetectorConfig, train_detector  # TensorFlow loads only when training

        config = DetectorConfig(seed=options["seed"], train_limit=options["train_limit"])
        if options["train_limit"]:  # a quick run: a validation set to match
            config.validation_digits = min(config.validation_digits, options["train_limit"])
        if options["epochs"] is not None:
            config.epochs = options["epochs"]
        if options["segmentation_numbers"] is not None and not options["segment_scorer"]:
            raise CommandError("--segmentation-numbers is for the segment scorer: add --segment-scorer.")
        network = SEGMENT_SCORER if options["segment_scorer"] else DETECTOR
        if options["segment_scorer"]:
            config.segmentation_numbers = options["segmentation_numbers"] or SEGMENT_SCORER_NUMBERS
        data = mnist_file(options)
        output = output_folder(options, default=Path(settings.BASE_DIR) / "training" / "runs" / "detector")
        if options["rechoose_thresholds"]:
            self._rechoose_thresholds(output=output, data=data, config=config, network=network)
            return
        if options["render_glyphs"]:
            self._render_glyphs()
        self.stdout.write(f"Training the {network.replace('_', ' ')} {config.epochs} epochs, seed {config.seed}, data {data} → {output}")
        try:
            card = train_detector(output_dir=output, data_path=data, config=config,
                                  verbose=2 if options["verbosity"] >= 1 else 0, name=network)
        except (FileNotFoundError, MnistFileInvalid) as error:
            raise CommandError(str(error)) from error
        valid = card["validation"]
        self.stdout.write(self.style.SUCCESS(
            f"Threshold {card['threshold']:.4f}: refuses {valid['digits_refused']:.2%} of {valid['digits']} validation "
            f"digits and {valid['non_digits_refused']:.2%} of {valid['non_digits']} validation non-digits; "
            f"written to {output} in {card['training_seconds']:.0f} s"
        ))

    def _rechoose_thresholds(self, *, output: Path, data: str, config, network: str) -> None:
        from predictor.rejection import network_files
        from training.detector import rechoose_thresholds

        if not (output / network_files(network)[1]).is_file():
            raise CommandError(f"No {network.replace('_', ' ')} in {output} to choose thresholds for.")
        try:
            card = rechoose_thresholds(directory=output, data_path=data, config=config, name=network)
        except (FileNotFoundError, MnistFileInvalid) as error:
            raise CommandError(str(error)) from error
        except (ValueError, KeyError) as error:  # a card that is not JSON, or lacks the training config
            raise CommandError(f"The {network.replace('_', ' ')} card in {output} cannot be read: {error}") from error
        valid = card["validation"]
        self.stdout.write(self.style.SUCCESS(
            f"Thresholds {card['threshold']:.4f} (refuses {valid['digits_refused']:.2%} of {valid['digits']} "
            f"validation digits, {valid['non_digits_refused']:.2%} of the non-digits) and "
            f"{card['unsure_below']:.4f} (doubts {valid['digits_doubted']:.2%} of the digits, "
            f"{valid['non_digits_doubted']:.2%} of the non-digits) written to {output}"
        ))

    def _render_glyphs(self) -> None:
        import numpy as np

        from training.negatives import GLYPHS_PATH, TYPESET_FONTS, installed_fonts, render_glyphs

        fonts = installed_fonts()
        typeset = installed_fonts(folders=())
        if len(fonts) == len(typeset) or len(typeset) < len(TYPESET_FONTS):
            # The held-out fonts are known by their place in this list: every one must be there.
            raise CommandError(f"Fonts are missing; install them first: apt-get install {FONT_PACKAGES}")
        pictures, sources = render_glyphs(fonts=fonts)
        GLYPHS_PATH.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(GLYPHS_PATH, x=pictures, font=sources)
        self.stdout.write(f"Rendered {len(pictures)} glyphs from {len(fonts)} fonts into {GLYPHS_PATH}")
