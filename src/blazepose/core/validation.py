"""Argument checks shared by the public APIs; each error says what was expected and what came."""

from __future__ import annotations

import math

import numpy as np

RGB_SHAPE_MESSAGE = "Input image must contain three channel rgb data."
# The crop kernels address source pixels with 16-bit integers (as OpenCV's remap).
MAX_IMAGE_SIDE = 32767


def check_rgb_image(image: object) -> np.ndarray:
    """Checks that ``image`` is a non-empty HxWx3 uint8 array with sides of at
    most ``MAX_IMAGE_SIDE`` pixels, and returns it.

    Raises:
        TypeError: not a numpy array, or not uint8.
        ValueError: not three channels (MediaPipe's message), empty, or too large.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"Input image must be a numpy.ndarray (HxWx3 uint8 RGB), got {type(image).__name__}.")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{RGB_SHAPE_MESSAGE} Expected shape (height, width, 3), got {image.shape}.")
    if image.dtype != np.uint8:
        raise TypeError(f"Input image must be uint8 RGB (values 0..255), got dtype {image.dtype}.")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"Input image must not be empty, got shape {image.shape}.")
    if max(image.shape[:2]) > MAX_IMAGE_SIDE:
        raise ValueError(
            f"Input image sides must be at most {MAX_IMAGE_SIDE} pixels, got shape {image.shape}; "
            "downscale it, or cut it into parts"
        )
    return image


def check_confidence(name: str, value: object) -> float:
    """Checks that a confidence is a real number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number in [0.0, 1.0], got {value!r}")
    if not (0.0 <= float(value) <= 1.0) or math.isnan(float(value)):
        raise ValueError(f"{name} must be in [0.0, 1.0], got {value!r}")
    return float(value)


def check_model_complexity(value: object) -> int:
    """Checks that model_complexity is 0, 1 or 2."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) not in (0, 1, 2):
        raise ValueError(f"model_complexity must be 0 (lite), 1 (full) or 2 (heavy), got {value!r}")
    return int(value)


def check_positive_int(name: str, value: object) -> int:
    """Checks that a count is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def check_boxes(boxes: object) -> np.ndarray | None:
    """Checks person boxes: None, or (K, 4) finite ``x0, y0, x1, y1`` with x0 < x1 and y0 < y1."""
    if boxes is None:
        return None
    try:
        array = np.asarray(boxes, np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"boxes must be a (K, 4) array of x0, y0, x1, y1 pixels, got {type(boxes).__name__}") from None
    if array.size == 0:
        return array.reshape(0, 4)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"boxes must have shape (K, 4) as x0, y0, x1, y1 pixels, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("boxes must be finite")
    bad = np.flatnonzero((array[:, 2] <= array[:, 0]) | (array[:, 3] <= array[:, 1]))
    if bad.size:
        raise ValueError(
            f"box {int(bad[0])} is empty or inverted: {array[bad[0]].tolist()} (expected x0 < x1, y0 < y1)"
        )
    return array


ACCURACY_MODES = ("fast", "high")


def check_accuracy(value: object) -> str:
    """Checks that an accuracy mode is ``"fast"`` or ``"high"``."""
    if not isinstance(value, str) or value not in ACCURACY_MODES:
        raise ValueError(f"accuracy must be one of {ACCURACY_MODES}, got {value!r}")
    return value
