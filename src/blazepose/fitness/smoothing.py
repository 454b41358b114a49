"""Exponential moving average of per-class votes over a window, as in MediaPipe's Pose Classification guide."""

from __future__ import annotations

from collections import deque


class EMAVoteSmoothing:
    """Smooths a stream of ``{class: votes}`` dicts.

    The smoothed value of a class is ``sum_i v_i (1 - alpha)^i / sum_i (1 - alpha)^i`` over the
    last ``window`` frames, newest first (i = 0), a class missing from a frame counting as 0.

    Args:
        window: How many frames are remembered.
        alpha: Smoothing factor in (0, 1]; larger forgets faster.
    """

    def __init__(self, window: int = 10, alpha: float = 0.2) -> None:
        if window < 1 or not 0 < alpha <= 1:
            raise ValueError(f"expected window >= 1 and 0 < alpha <= 1, got window={window}, alpha={alpha}")
        self.window, self.alpha = window, alpha
        self._history: deque[dict[str, float]] = deque(maxlen=window)

    def reset(self) -> None:
        self._history.clear()

    def __call__(self, votes: dict[str, float]) -> dict[str, float]:
        """Adds one frame's votes and returns the smoothed votes of every class seen in the window."""
        self._history.appendleft(dict(votes))
        keys = {k for frame in self._history for k in frame}
        weights = [(1 - self.alpha) ** i for i in range(len(self._history))]
        total = sum(weights)
        return {
            k: sum(w * frame.get(k, 0.0) for w, frame in zip(weights, self._history, strict=True)) / total for k in keys
        }
