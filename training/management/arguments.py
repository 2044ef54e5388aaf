"""Checks of the training commands' options, run first thing in `handle`.

Not argparse `type`s: `call_command("finetune", epochs=0)` passes keyword options straight through,
past the parser, so only a check in `handle` holds for every caller.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

MAX_SEED = 2**32 - 1  # NumPy's and Keras's seeds are 32-bit


def check_numbers(
    options: dict, *, counts: tuple[str, ...] = (), seeds: tuple[str, ...] = (), shares: tuple[str, ...] = ()
) -> None:
    """CommandError for the first of the named options out of range; an option left at None is not given."""
    for names, in_range, rule in (
        (counts, lambda value: value >= 1, "must be at least 1"),
        (seeds, lambda value: 0 <= value <= MAX_SEED, f"must be between 0 and {MAX_SEED}"),
        (shares, lambda value: 0.0 <= value <= 1.0, "must be a share of the digits, between 0 and 1"),
    ):
        for name in names:
            if options[name] is not None and not in_range(options[name]):
                raise CommandError(f"--{name.replace('_', '-')}: {rule}.")


def mnist_file(options: dict) -> str:
    """The MNIST file to train on: `--data`, which must exist, or MNIST_PATH."""
    if options["data"] and not Path(options["data"]).is_file():
        raise CommandError(f"MNIST file not found: {options['data']}")
    return options["data"] or settings.MNIST_PATH


def output_folder(options: dict, *, default: Path) -> Path:
    """`--output` (or `default`), made now: a folder that cannot be written fails before minutes of
    training, not after."""
    output = Path(options["output"] or default)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(f"Cannot write to --output {output}: {error.strerror or error}") from error
    return output
