"""SSD anchors of the BlazePose person detector."""

from __future__ import annotations

import math

import numpy as np

# The detector's anchor options (pose_detection_cpu graph).
DETECTOR_INPUT_SIZE = 224
DETECTOR_STRIDES = (8, 16, 32, 32, 32)
DETECTOR_NUM_ANCHORS = 2254


def generate_anchors(
    input_size: int = DETECTOR_INPUT_SIZE,
    strides: tuple[int, ...] = DETECTOR_STRIDES,
    offset: float = 0.5,
) -> np.ndarray:
    """Returns the anchor centres, shape (num_anchors, 2) as (x, y) in [0, 1].

    Fixed-size anchors (w = h = 1) with one aspect ratio plus one interpolated
    scale per layer: layers that share a stride share a grid, and each of them
    adds two anchors per cell. Anchors are ordered row by row, cell by cell,
    as the detector's output is.
    """
    centres = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        same = 0  # contiguous layers that share this stride
        while layer + same < len(strides) and strides[layer + same] == stride:
            same += 1
        per_cell = 2 * same
        size = math.ceil(input_size / stride)
        grid = (np.arange(size, dtype=np.float32) + offset) / size
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)
