"""Feature maps in the two forms clients need: compact JSON for scripts, PNG grids for people."""

from __future__ import annotations

import base64
import io
import math

import numpy as np
from PIL import Image


def quantise(maps: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per layer: shape [H, W, C], per-channel `scales`, and the values as base64 uint8, laid out
    channel-first (C, H, W) so each channel's map is one contiguous block: value = byte/255·scale."""
    encoded = {}
    for name, activation in maps.items():
        channels_first = np.moveaxis(np.asarray(activation, dtype=np.float32), -1, 0)
        scales = channels_first.reshape(channels_first.shape[0], -1).max(axis=1)
        scales = np.where(scales > 0, scales, 1.0)
        quantised = np.round(np.clip(channels_first / scales[:, None, None], 0, 1) * 255).astype(np.uint8)
        encoded[name] = {
            "shape": list(activation.shape),
            "layout": "CHW",
            "dtype": "uint8",
            "scales": [round(float(s), 6) for s in scales],
            "data": base64.b64encode(quantised.tobytes()).decode("ascii"),
        }
    return encoded


def grid_png(activation: np.ndarray, *, columns: int = 8) -> bytes:
    """All channels of one layer as a grid of small grayscale tiles (1 px gaps), as PNG bytes."""
    height, width, channels = activation.shape
    zoom = max(1, 56 // max(height, width))
    columns = min(columns, channels)
    rows = math.ceil(channels / columns)
    tile_h, tile_w = height * zoom, width * zoom
    canvas = np.full((rows * (tile_h + 1) - 1, columns * (tile_w + 1) - 1), 40, dtype=np.uint8)
    for index in range(channels):
        channel = activation[..., index]
        top = channel.max()
        tile = (channel / top * 255 if top > 0 else np.zeros_like(channel)).astype(np.uint8)
        tile = np.kron(tile, np.ones((zoom, zoom), dtype=np.uint8))
        row, column = divmod(index, columns)
        y, x = row * (tile_h + 1), column * (tile_w + 1)
        canvas[y : y + tile_h, x : x + tile_w] = tile
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def model_input_uri(pixels: np.ndarray) -> str:
    """The 28×28 picture the model read, exactly as it read it, as a PNG data URI (pages scale it
    up with `image-rendering: pixelated`)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8).reshape(28, 28)).save(buffer, format="PNG")
    return png_data_uri(buffer.getvalue())
