"""`python manage.py train_base`: train the base model from MNIST and write it with its card."""

from __future__ import annotations

import shlex
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.management.arguments import MAX_SEED, check_numbers, mnist_file, output_folder
from training.mnist import MnistFileInvalid


class Command(BaseCommand):
    help = "Train the base digit model on MNIST (with handwriting augmentation) and write model + card."

    def add_arguments(self, parser):
        parser.add_argument("--data", default=None, help="Path to mnist.npz (default: MNIST_PATH).")
        parser.add_argument("--epochs", type=int, default=None, help="Training epochs (default 14).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--members",
            type=int,
            default=None,
            help="Networks trained from seeds SEED, SEED+1, … and served as one, their probabilities averaged "
            "(default 2).",
        )
        parser.add_argument(
            "--output",
            default=None,
            help="Directory for model.keras, model.tflite and model_card.json "
            "(default: a new directory under training/runs/, never the bundled model).",
        )
        parser.add_argument(
            "--european-styles",
            type=float,
            default=None,
            help="Share of MNIST's ones given a flag and of its sevens a crossbar (default 0.2).",
        )
        parser.add_argument(
            "--hooked-nines",
            type=float,
            default=None,
            help="Share of MNIST's nines given a hooked tail, as in a handwritten 'g' (default 0.35).",
        )
        parser.add_argument(
            "--small-scans",
            type=float,
            default=None,
            help="Share of the training digits shown as the server sees 16×16 scans of them (default 0.25).",
        )
        parser.add_argument(
            "--hold-out-validation",
            action="store_true",
            help="Train without the last 5,000 MNIST training digits, to compare recipes on them.",
        )
        parser.add_argument("--train-limit", type=int, default=None, help="Use only the first N training images.")
        parser.add_argument("--test-limit", type=int, default=None, help="Evaluate on only the first N test images.")

    def handle(self, *args, **options):
        check_numbers(options, counts=("epochs", "members", "train_limit", "test_limit"), seeds=("seed",),
                      shares=("european_styles", "hooked_nines", "small_scans"))
        if options["members"] is not None and options["seed"] + options["members"] - 1 > MAX_SEED:
            raise CommandError(f"--seed {options['seed']} with --members {options['members']}: the last network's seed "
                               f"would pass {MAX_SEED}.")
        from training.train import TrainConfig, train_base  # TensorFlow loads only when training

        shares = {name: options[name] for name in ("european_styles", "hooked_nines", "small_scans")
                  if options[name] is not None}
        config = TrainConfig(seed=options["seed"], train_limit=options["train_limit"], test_limit=options["test_limit"],
                             hold_out_validation=options["hold_out_validation"], **shares)
        for option in ("epochs", "members"):
            if options[option] is not None:
                setattr(config, option, options[option])
        data = mnist_file(options)
        output = output_folder(options, default=Path(settings.BASE_DIR) / "training" / "runs" / f"seed{config.seed}")
        self.stdout.write(f"Training {config.members} network(s) for {config.epochs} epochs from seed {config.seed}, "
                          f"data {data} → {output}")
        try:
            card = train_base(
                output_dir=output,
                data_path=data,
                config=config,
                command_line=self._command_line(options, data=data, output=output, config=config),
                progress=self.stdout.write if options["verbosity"] >= 1 else lambda message: None,
                verbose=1 if options["verbosity"] >= 1 else 0,
            )
        except (FileNotFoundError, MnistFileInvalid) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Test accuracy {card['test_accuracy']:.2%} on {card['test_images']} images "
                f"in {card['training_seconds']:.0f} s; model version {card['version']} written to {output}"
            )
        )
        for figure, goal in card["missed_goals"].items():
            self.stdout.write(self.style.WARNING(
                f"{figure}: {card['served_accuracy'][figure]:.2%} is below the goal of {goal:.1%}; "
                "do not bundle this model."
            ))

    @staticmethod
    def _command_line(options: dict, *, data: str, output: Path, config) -> str:
        """The command that reproduces this run, with every default spelled out."""
        words = ["python", "manage.py", "train_base", "--data", str(data), "--epochs", str(config.epochs)]
        words += ["--seed", str(config.seed), "--members", str(config.members), "--output", str(output)]
        words += ["--european-styles", str(config.european_styles), "--hooked-nines", str(config.hooked_nines)]
        words += ["--small-scans", str(config.small_scans)]
        if config.hold_out_validation:
            words.append("--hold-out-validation")
        for option in ("train_limit", "test_limit"):
            if options[option]:
                words += [f"--{option.replace('_', '-')}", str(options[option])]
        return shlex.join(words)
