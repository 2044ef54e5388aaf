"""Confidence that means what it says: a model version's temperature, and how calibration is measured.

A network's softmax is often over- or under-confident. Each model version carries a temperature T,
fitted on training data when the version is trained (`training.calibration`); serving divides the
log-probabilities by it: p_T ∝ p^(1/T), so T > 1 softens the answer and T = 1 leaves it as it is.
The order of the ten digits never changes, only how sure the answer says it is.
"""

from __future__ import annotations

import numpy as np


def temper(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """`probabilities` (…, 10) with their log divided by `temperature`, normalised again."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if temperature == 1.0:
        return probabilities
    logs = np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature
    logs -= logs.max(axis=-1, keepdims=True)
    tempered = np.exp(logs)
    return tempered / tempered.sum(axis=-1, keepdims=True)


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, *, bins: int = 15) -> float:
    """ECE over `bins` equal-width confidence bins: Σ (share of answers in the bin) × |accuracy
    there − mean confidence there|. 0 when confidence means exactly what it says."""
    confidences, correct = np.asarray(confidences, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidences, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for index in range(bins):
        inside = which == index
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidences[inside].mean())
    return float(total)
