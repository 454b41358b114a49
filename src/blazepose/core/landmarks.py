"""Landmark tensors: decoding, heatmap refinement and projection to the image."""

from __future__ import annotations

import numpy as np

from blazepose.core.float32 import C_TRIGONOMETRY, cos32, f32, sequential_sum32, sigmoid32, sin32
from blazepose.core.native import native_kernels
from blazepose.core.roi import NormRect

NUM_MODEL_LANDMARKS = 39
NUM_LANDMARKS = 33
AUX_SLICE = slice(33, 35)
# The graph text in the repository says 7, but MediaPipe 0.10.14 as shipped
# behaves as the calculator default, 9 (checked against its raw tensors).
HEATMAP_KERNEL = 9
HEATMAP_MIN_CONFIDENCE = 0.5


def decode_landmarks(raw: np.ndarray, input_size: int = 256) -> np.ndarray:
    """Decodes the landmark tensor.

    Args:
        raw: 195 floats: 39 landmarks x ``x, y, z, visibility logit,
            presence logit``, in input pixels.
        input_size: The model's input side in pixels.

    Returns:
        (39, 5) float32: ``x, y, z`` normalized by the input side (z too),
        visibility and presence as probabilities.
    """
    lm = np.asarray(raw, np.float32).reshape(NUM_MODEL_LANDMARKS, 5).copy()
    lm[:, :3] /= f32(input_size)
    lm[:, 3:] = sigmoid32(lm[:, 3:])
    return lm


def refine_with_heatmap(
    landmarks: np.ndarray,
    heatmap: np.ndarray,
    kernel: int = HEATMAP_KERNEL,
    min_confidence: float = HEATMAP_MIN_CONFIDENCE,
    native: bool | None = None,
) -> np.ndarray:
    """Moves each landmark to the confidence-weighted centre of its heatmap window.

    For landmark i, the window is ``kernel x kernel`` cells of heatmap channel
    i around the cell that holds the landmark (clipped at the edges); the
    landmark moves to the sigmoid-weighted mean cell position (in cell units
    over the heatmap size, without a half-cell offset) when the window's
    highest sigmoid reaches ``min_confidence``. Landmarks outside the heatmap
    are left alone, and so are visibility and presence.

    Args:
        landmarks: (N, >=2) normalized ``x, y, ...`` in the crop.
        heatmap: (H, W, N) logits.
        native: Whether to use the compiled kernel (same values); None uses
            it when built.
    """
    hm_h, hm_w, n = heatmap.shape
    out = landmarks.copy()
    kernels = native_kernels(native)
    if kernels is not None:
        xy = np.array(landmarks[:, :2], np.float32, order="C")  # a copy: the kernel refines it in place
        kernels.refine_with_heatmap(xy, np.ascontiguousarray(heatmap, np.float32), kernel, min_confidence)
        out[:, :2] = xy
        return out
    xy = landmarks[:, :2].astype(np.float32)
    # C-style truncation toward zero, as an int cast does.
    cols = np.trunc(xy[:, 0] * f32(hm_w)).astype(np.int64)
    rows = np.trunc(xy[:, 1] * f32(hm_h)).astype(np.int64)
    inside = (cols >= 0) & (cols < hm_w) & (rows >= 0) & (rows < hm_h)
    half = (kernel - 1) // 2
    offsets = np.arange(-half, half + 1)
    win_rows, win_cols = rows[:, None] + offsets, cols[:, None] + offsets  # (n, kernel) each
    valid = ((win_rows >= 0) & (win_rows < hm_h) & inside[:, None])[:, :, None] & ((win_cols >= 0) & (win_cols < hm_w))[
        :, None, :
    ]
    clipped_rows = np.clip(win_rows, 0, hm_h - 1)[:, :, None]
    clipped_cols = np.clip(win_cols, 0, hm_w - 1)[:, None, :]
    logits = heatmap[clipped_rows, clipped_cols, np.arange(n)[:, None, None]]
    # Cells outside the heatmap weigh 0, which leaves float sums unchanged.
    conf = sigmoid32(logits) * valid
    # Sums in MediaPipe's order (row by row, column by column), all three at once.
    col_terms = conf * win_cols[:, None, :].astype(np.float32)
    row_terms = conf * win_rows[:, :, None].astype(np.float32)
    terms = np.stack([conf, col_terms, row_terms])
    total, sum_col, sum_row = sequential_sum32(terms.reshape(3, n, -1), axis=2)
    best = conf.reshape(n, -1).max(axis=1)
    refine = inside & (best >= f32(min_confidence)) & (total > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_x = sum_col / f32(hm_w) / total
        mean_y = sum_row / f32(hm_h) / total
    out[refine, 0] = mean_x[refine]
    out[refine, 1] = mean_y[refine]
    return out


def remove_letterbox(landmarks: np.ndarray, padding: tuple[float, float, float, float]) -> np.ndarray:
    """Undoes letterbox padding on crop-normalized ``x, y, z, ...`` landmarks."""
    left, top, right, bottom = padding
    if not any(padding):
        return landmarks
    out = landmarks.copy()
    sx = 1.0 - left - right
    out[:, 0] = (landmarks[:, 0] - left) / sx
    out[:, 1] = (landmarks[:, 1] - top) / (1.0 - top - bottom)
    out[:, 2] = landmarks[:, 2] / sx
    return out


def project_to_image(landmarks: np.ndarray, roi: NormRect) -> np.ndarray:
    """Maps crop-normalized landmarks into normalized image coordinates.

    The offset from the crop's centre is rotated by the region's rotation and
    scaled by its size; z is scaled by the region's width.
    """
    c, s = cos32(roi.rotation), sin32(roi.rotation)
    x = landmarks[:, 0].astype(np.float32) - f32(0.5)
    y = landmarks[:, 1].astype(np.float32) - f32(0.5)
    out = landmarks.astype(np.float32)
    out[:, 0] = (c * x - s * y) * f32(roi.width) + f32(roi.x_center)
    out[:, 1] = (s * x + c * y) * f32(roi.height) + f32(roi.y_center)
    out[:, 2] = landmarks[:, 2].astype(np.float32) * f32(roi.width)
    return out


def decode_world_landmarks(raw: np.ndarray, rotation: float) -> np.ndarray:
    """Decodes the world landmark tensor (39 x ``x, y, z`` metres, hip-centred),
    rotating ``x, y`` by the region's rotation.

    Returns:
        (39, 3) float32.
    """
    world = np.asarray(raw, np.float32).reshape(NUM_MODEL_LANDMARKS, 3).copy()
    c, s = cos32(rotation), sin32(rotation)
    x, y = world[:, 0].copy(), world[:, 1].copy()
    world[:, 0] = c * x - s * y
    world[:, 1] = s * x + c * y
    return world


def decode_pose(
    raw: np.ndarray,
    heatmap: np.ndarray,
    raw_world: np.ndarray,
    roi: NormRect,
    padding: tuple[float, float, float, float],
    input_size: int = 256,
    native: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The landmark model's outputs as image landmarks and world landmarks.

    :func:`decode_landmarks`, :func:`refine_with_heatmap`,
    :func:`remove_letterbox`, :func:`project_to_image` and
    :func:`decode_world_landmarks` in turn; the compiled kernel does them in
    one call (same values).

    Args:
        raw: The 195 landmark values.
        heatmap: (H, W, 39) logits.
        raw_world: The 117 world landmark values.
        roi: The region the crop was cut from.
        padding: The crop's letterbox padding.
        input_size: The model's input side in pixels.
        native: Whether to use the compiled kernel; None uses it when built
            and Python can call the C library's ``cosf`` and ``sinf``.

    Returns:
        (39, 5) float32 landmarks in normalized image coordinates and (39, 3)
        float32 world landmarks.
    """
    kernels = native_kernels(native)
    if kernels is None or (native is None and not C_TRIGONOMETRY):
        # The compiled call takes the region's cosf and sinf from the C library; where Python cannot load
        # them, cos32 and sin32 round Python's cos and sin, and the numpy stages keep to those.
        lm = refine_with_heatmap(decode_landmarks(raw, input_size), heatmap, native=native)
        lm = project_to_image(remove_letterbox(lm, padding), roi)
        return lm, decode_world_landmarks(raw_world, roi.rotation)
    lm = np.empty((NUM_MODEL_LANDMARKS, 5), np.float32)
    world = np.empty((NUM_MODEL_LANDMARKS, 3), np.float32)
    kernels.decode_pose_in_region(
        np.ascontiguousarray(raw, np.float32),
        np.ascontiguousarray(raw_world, np.float32),
        np.ascontiguousarray(heatmap, np.float32),
        input_size,
        HEATMAP_KERNEL,
        HEATMAP_MIN_CONFIDENCE,
        padding,
        roi,  # x_center, y_center, width, height, rotation (its cosf and sinf taken there)
        lm,
        world,
    )
    return lm, world
