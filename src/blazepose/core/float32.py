"""Single-precision helpers.

MediaPipe computes its pipeline in C++ ``float``. The pose tracker feeds
each frame's result into the next frame's crop, and the landmark model
answers sub-pixel changes of the crop with visible jumps, so the small
differences of double arithmetic grow over a video. These helpers give the
results of the C library's single-precision functions so that the stages
can follow the same arithmetic step by step: the scalar trigonometric ones
call the platform's C math library when it can be loaded (as MediaPipe's
compiled code does), else round Python's double result once; ``exp32``
rounds numpy's double result and asks the C library only for the few
inputs whose result lies next to a float32 rounding midpoint, the only
ones where the two can differ.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from collections.abc import Callable

import numpy as np

f32 = np.float32


def _c_float_function(name: str, arity: int) -> Callable[..., float] | None:
    """Loads a single-precision function from the C math library, or None."""
    try:
        path = ctypes.util.find_library("m")
        lib = ctypes.CDLL(path) if path else None
        fn = getattr(lib, name) if lib is not None else None
    except (OSError, AttributeError):
        return None
    if fn is None:
        return None
    fn.restype = ctypes.c_float
    fn.argtypes = [ctypes.c_float] * arity
    return fn


_cosf = _c_float_function("cosf", 1)
_sinf = _c_float_function("sinf", 1)
C_TRIGONOMETRY = _cosf is not None and _sinf is not None
"""Whether cos32 and sin32 call the C library (as the compiled kernels do), not round Python's result."""
_atan2f = _c_float_function("atan2f", 2)
_expf = _c_float_function("expf", 1)
_MIDPOINT_MARGIN = 0.005  # float32 ulps; glibc expf errs by at most 0.502 ulp


def exp32(x: np.ndarray) -> np.ndarray:
    """``expf`` elementwise."""
    x = np.asarray(x, np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        exact = np.exp(x.astype(np.float64))
        out = exact.astype(np.float32)
        if _expf is None:
            return out
        frac = (exact - out.astype(np.float64)) / np.spacing(out).astype(np.float64)
        near = np.abs(np.abs(frac) - 0.5) < _MIDPOINT_MARGIN
    if near.any():
        flat_out, flat_x = out.reshape(-1), x.reshape(-1)
        for i in np.flatnonzero(near.reshape(-1)):
            flat_out[i] = _expf(float(flat_x[i]))
    return out


def sigmoid32(x: np.ndarray) -> np.ndarray:
    """``1.0f / (1.0f + expf(-x))`` elementwise."""
    return (f32(1) / (f32(1) + exp32(-np.asarray(x, np.float32)))).astype(np.float32)


def cos32(angle: float | np.floating) -> np.float32:
    """``cosf`` of a float angle."""
    a = float(f32(angle))
    return f32(_cosf(a) if _cosf else math.cos(a))


def sin32(angle: float | np.floating) -> np.float32:
    """``sinf`` of a float angle."""
    a = float(f32(angle))
    return f32(_sinf(a) if _sinf else math.sin(a))


def atan2_32(y: float | np.floating, x: float | np.floating) -> np.float32:
    """``atan2f``."""
    a, b = float(f32(y)), float(f32(x))
    return f32(_atan2f(a, b) if _atan2f else math.atan2(a, b))


def sequential_sum32(values: np.ndarray, axis: int) -> np.ndarray:
    """Float32 sum taken one element after another along ``axis``, as a C loop adds."""
    return np.asarray(np.cumsum(np.asarray(values, np.float32), axis=axis, dtype=np.float32).take(-1, axis=axis))


def normalize_radians32(angle: float | np.floating) -> np.float32:
    """Wraps a float angle into [-pi, pi), computed in double and stored as float."""
    a = float(f32(angle))
    return f32(a - 2 * math.pi * math.floor((a - (-math.pi)) / (2 * math.pi)))
