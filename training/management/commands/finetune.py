"""`python manage.py finetune`: retrain the active model on approved feedback; promote if better."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from training.management.arguments import check_numbers
from training.mnist import MnistFileInvalid


class Command(BaseCommand):
    help = (
        "Finetune the active model on approved feedback mixed with MNIST replay. The candidate is "
        "promoted only if MNIST test accuracy drops by at most 0.2 pp, no digit loses more than 1 pp, "
        "and a paired test finds it no worse on the held-back feedback; otherwise it is kept as "
        "rejected. Exits 0 either way."
    )

    def add_arguments(self, parser):
        parser.add_argument("--min-records", type=int, default=None, help="Approved records needed (default 20).")
        parser.add_argument("--min-holdout-records", type=int, default=None,
                            help="Held-back records needed to judge a candidate (default 30).")
        parser.add_argument("--epochs", type=int, default=None, help="Training epochs (default 6).")
        parser.add_argument("--dry-run", action="store_true", help="Train and evaluate, save nothing.")
        parser.add_argument("--force", action="store_true",
                            help="Train even when no approved record is new since the active version was made.")
        parser.add_argument("--data", default=None, help="Path to mnist.npz (default: MNIST_PATH).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed (default 1).")

    def handle(self, *args, **options):
        check_numbers(options, counts=("min_records", "min_holdout_records", "epochs"), seeds=("seed",))
        from training.finetune import FinetuneConfig, finetune

        config = FinetuneConfig()
        for option in ("min_records", "min_holdout_records", "epochs", "seed"):
            if options[option] is not None:
                setattr(config, option, options[option])
        verbosity = options["verbosity"]
        try:
            report = finetune(
                data_path=options["data"] or settings.MNIST_PATH,
                config=config,
                dry_run=options["dry_run"],
                force=options["force"],
                progress=(lambda message: self.stdout.write(message)) if verbosity >= 1 else (lambda message: None),
                verbose=1 if verbosity >= 2 else (2 if verbosity == 1 else 0),
            )
        except (FileNotFoundError, MnistFileInvalid) as error:
            raise CommandError(str(error)) from error
        style = self.style.SUCCESS if report.promoted else self.style.WARNING
        lines = report.lines()
        self.stdout.write(style(lines[0]))
        for line in lines[1:]:
            self.stdout.write(line)
