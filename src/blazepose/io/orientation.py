"""Turning a decoded frame as its display matrix asks (phone videos store frames sideways or mirrored).

The matrix is FFmpeg's (ISO BMFF ``tkhd``) 3x3 of 32-bit fixed-point numbers,
row-major ``a b u / c d v / x y w``; a stored pixel at ``(x, y)`` is shown at
``(a x + c y, b x + d y)`` (then moved into view). Quarter turns and mirrors
are applied exactly; other angles go to the nearest quarter turn.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def display_matrix(frame: Any) -> np.ndarray | None:
    """The 2x2 linear part ``[[a, b], [c, d]]`` of a PyAV frame's display matrix, or None without one."""
    from av.sidedata.sidedata import Type

    data = frame.side_data.get(Type.DISPLAYMATRIX)
    if data is None:
        return None
    values = np.frombuffer(bytes(data), np.int32)
    if values.size != 9:
        return None
    return values[[0, 1, 3, 4]].reshape(2, 2) / 65536.0


def as_displayed(pixels: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``pixels`` (rows, columns, ...) as shown through ``matrix`` (see :func:`display_matrix`)."""
    (a, b), (c, d) = matrix
    if abs(a) + abs(d) >= abs(b) + abs(c):  # columns stay columns: x' = a x, y' = d y
        shown, flip_rows, flip_columns = pixels, d < 0, a < 0
    else:  # axes swap: x' = c y, y' = b x
        shown, flip_rows, flip_columns = pixels.swapaxes(0, 1), b < 0, c < 0
    if flip_rows:
        shown = shown[::-1]
    if flip_columns:
        shown = shown[:, ::-1]
    return shown if shown is pixels else np.ascontiguousarray(shown)
