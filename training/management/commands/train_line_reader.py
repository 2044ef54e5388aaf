"""`python manage.py train_line_reader`: train the line reader that reads touching digits whole."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.management.arguments import check_numbers, mnist_file, output_folder
from training.mnist import MnistFileInvalid


class Command(BaseCommand):
    help = (
        "Train the line reader (a CTC network that reads a blob of touching digits without cutting it) on "
        "touching numbers written from MNIST training digits; write line_reader.tflite and its card."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", default=None, help="Path to mnist.npz (default: MNIST_PATH).")
        parser.add_argument("--epochs", type=int, default=None,
                            help="Training epochs (default: LineReaderConfig's, 10).")
        parser.add_argument("--examples", type=int, default=None,
                            help="Training pictures (default: LineReaderConfig's, 200,000).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument("--small-scans", type=float, default=None,
                            help="Share of digits shown as 16×16 scans (default: LineReaderConfig's, 0.4).")
        parser.add_argument("--longest", type=int, choices=(5, 6), default=None,
                            help="The most digits a training blob holds (default: LineReaderConfig's, 5).")
        parser.add_argument("--band", type=int, choices=(4, 2), default=None,
                            help="Width of the column bands it scores, px (default: LineReaderConfig's, 4).")
        parser.add_argument("--processes", type=int, default=None,
                            help="Processes drawing the training pictures side by side (default: one per CPU).")
        parser.add_argument("--train-limit", type=int, default=None, help="Use only the first N training digits.")
        parser.add_argument(
            "--output", default=None,
            help="Directory for the network and its card (default: training/runs/line_reader; to bundle them, copy "
            "both into training/base_model/ under the name of the line reader they replace, as the README says).",
        )

    def handle(self, *args, **options):
        check_numbers(options, counts=("epochs", "examples", "train_limit", "processes"), seeds=("seed",),
                      shares=("small_scans",))
        from training.line_reader import LineReaderConfig, train_line_reader  # TensorFlow loads only when training

        config = LineReaderConfig(seed=options["seed"], train_limit=options["train_limit"])
        for name in ("epochs", "examples", "small_scans", "longest", "band"):
            if options[name] is not None:
                setattr(config, name, options[name])
        if options["train_limit"]:  # a quick run: a validation set to match
            config.validation_examples = min(config.validation_examples, config.examples)
        data = mnist_file(options)
        output = output_folder(options, default=Path(settings.BASE_DIR) / "training" / "runs" / "line_reader")
        self.stdout.write(f"Training the line reader on {config.examples} pictures, {config.epochs} epochs, "
                          f"seed {config.seed}, blobs of up to {config.longest} digits in {config.band} px bands, "
                          f"data {data} → {output}")
        progress = self.stdout.write if options["verbosity"] >= 1 else (lambda message: None)
        try:
            card = train_line_reader(output_dir=output, data_path=data, config=config,
                                     processes=options["processes"] or os.cpu_count() or 1, progress=progress)
        except (FileNotFoundError, MnistFileInvalid) as error:
            raise CommandError(str(error)) from error
        valid = card["validation"]
        self.stdout.write(self.style.SUCCESS(
            f"Reads {valid['exact']:.2%} of {valid['pictures']} validation blobs exactly; written to {output} "
            f"in {card['training_seconds']:.0f} s"
        ))
