"""What the tests look for inside a LiteRT file."""

from __future__ import annotations

import numpy as np


def int8_tensors(path) -> int:
    """How many of the file's tensors hold 8-bit integers (weights quantized by the converter)."""
    from ai_edge_litert.interpreter import Interpreter

    return sum(tensor["dtype"] == np.int8 for tensor in Interpreter(model_path=str(path)).get_tensor_details())
