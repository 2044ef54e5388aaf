"""The result page's feature-map grids: every channel, at the layer's own resolution."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from predictor.featuremaps import GRID_GAP_LEVEL, grid_png


def test_grid_holds_every_channel_at_its_own_resolution_scaled_to_its_maximum():
    rng = np.random.default_rng(0)
    activation = rng.uniform(0, 3, size=(7, 5, 11)).astype(np.float32)
    activation[..., 4] = 0.0  # a filter that never fired stays black

    grid = np.asarray(Image.open(io.BytesIO(grid_png(activation, columns=4))))

    assert grid.shape == (3 * 8 - 1, 4 * 6 - 1), "3 rows × 4 columns of 7×5 tiles, 1 px apart"
    for channel in range(11):
        row, column = divmod(channel, 4)
        tile = grid[row * 8 : row * 8 + 7, column * 6 : column * 6 + 5]
        values = activation[..., channel]
        expected = (values / values.max() * 255).astype(np.uint8) if values.max() > 0 else np.zeros_like(tile)
        np.testing.assert_array_equal(tile, expected, err_msg=f"channel {channel}")
    assert (grid[7] == GRID_GAP_LEVEL).all() and (grid[:, 5] == GRID_GAP_LEVEL).all(), "gaps between tiles"
    assert (grid[16:, 18:] == GRID_GAP_LEVEL).all(), "the twelfth cell is empty"


def test_a_layer_with_fewer_channels_than_columns_is_one_row():
    grid = np.asarray(Image.open(io.BytesIO(grid_png(np.ones((4, 4, 3), dtype=np.float32)))))
    assert grid.shape == (4, 3 * 5 - 1)
    assert (grid[:, 4] == GRID_GAP_LEVEL).all() and (grid[:, :4] == 255).all()
