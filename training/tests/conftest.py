from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = Path(settings.MNIST_PATH)
    if not path.is_file():
        pytest.skip(f"MNIST file not found at {path} (set MNIST_PATH); these tests need real MNIST data")
    return path
