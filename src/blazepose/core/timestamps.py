"""Frame timestamps: the caller's, checked to increase, or stepped at a frame rate."""

from __future__ import annotations

import numpy as np

DEFAULT_FPS = 30.0


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
    if not np.isfinite(timestamp_ms):
        raise ValueError(f"timestamp_ms must be finite, got {timestamp_ms!r}")
    ts = round(float(timestamp_ms) * 1000.0)
    if last_us is not None and ts <= last_us:
        raise ValueError(f"timestamps must increase: got {timestamp_ms} ms after {last_us / 1000.0} ms")
    return ts
