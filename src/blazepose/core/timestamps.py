"""Frame timestamps: the caller's, checked to increase, or stepped at a frame rate."""

from __future__ import annotations

import math

import numpy as np

DEFAULT_FPS = 30.0
MAX_FPS = 1e6  # one frame per microsecond: the clock's resolution
MAX_TIMESTAMP_MS = 2.0**53 / 1000  # microseconds stay exact integers (about 285 years)


def frame_step_us(fps: object) -> int:
    """The step between frames given without a timestamp, in whole microseconds.

    Raises:
        ValueError: ``fps`` is not a number in (0, 1e6].
    """
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)) or not 0 < fps <= MAX_FPS:
        raise ValueError(f"fps must be a number in (0, {MAX_FPS:.0f}] (the clock counts microseconds), got {fps!r}")
    return round(1e6 / float(fps))


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} characters)"


def next_timestamp_us(last_us: int | None, timestamp_ms: float | None, step_us: int) -> int:
    """A frame's timestamp in microseconds: the given one, checked to come
    after ``last_us``, or ``step_us`` after it when none is given.

    Raises:
        TypeError: the timestamp is not a number.
        ValueError: it is not finite, or not after the previous one.
    """
    if timestamp_ms is None:
        return step_us if last_us is None else last_us + step_us
    if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, (int, float, np.integer, np.floating)):
        raise TypeError(f"timestamp_ms must be a number, got {timestamp_ms!r}")
    try:
        ms = float(timestamp_ms)
    except OverflowError:  # an int beyond float's range
        ms = math.inf
    if not math.isfinite(ms):
        raise ValueError(f"timestamp_ms must be finite, got {_short(timestamp_ms)}")
    if abs(ms) > MAX_TIMESTAMP_MS:
        raise ValueError(f"timestamp_ms must be within ±{MAX_TIMESTAMP_MS:.0f} ms, got {_short(timestamp_ms)}")
    ts = round(ms * 1000.0)
    if last_us is not None and ts <= last_us:
        # MediaPipe Tasks' message first (code may match it), then what came.
        raise ValueError(
            f"Input timestamp must be monotonically increasing: got {timestamp_ms} ms after {last_us / 1000.0} ms"
        )
    return ts


def after_previous_ms(timestamp_ms: float, last_ms: float | None) -> float:
    """A decoded frame's time, nudged 1 microsecond past the previous frame's when
    it is not after it (some files repeat container times; video mode needs them
    to increase)."""
    return timestamp_ms if last_ms is None else max(timestamp_ms, last_ms + 0.001)
