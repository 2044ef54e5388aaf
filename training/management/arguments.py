"""argparse types for the training commands: a bad value is refused before anything is loaded."""

from __future__ import annotations

import argparse

MAX_SEED = 2**32 - 1  # NumPy's and Keras's seeds are 32-bit


def seed(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
