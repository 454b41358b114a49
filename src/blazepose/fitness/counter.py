"""A repetition counter with two thresholds on a class's smoothed votes (MediaPipe's guide: enter 6, exit 4 of 10)."""

from __future__ import annotations


class RepetitionCounter:
    """Counts how many times a pose class was entered and then left.

    The pose is entered when its votes rise above ``enter_threshold`` and left
    when they fall below ``exit_threshold``; a repetition counts on leaving.

    Args:
        class_name: The class that marks the far point of the exercise (e.g. ``"squats_down"``).
        enter_threshold: Votes above which the pose is entered.
        exit_threshold: Votes below which it is left (lower than ``enter_threshold``).
    """

    def __init__(self, class_name: str, enter_threshold: float = 6, exit_threshold: float = 4) -> None:
        if exit_threshold >= enter_threshold:
            raise ValueError(f"expected exit_threshold < enter_threshold, got {exit_threshold} >= {enter_threshold}")
        self.class_name = class_name
        self.enter_threshold, self.exit_threshold = enter_threshold, exit_threshold
        self.count = 0
        self.in_pose = False

    def __call__(self, votes: dict[str, float]) -> int:
        """Updates with one frame's (smoothed) votes; returns the count so far."""
        confidence = votes.get(self.class_name, 0.0)
        if not self.in_pose:
            self.in_pose = confidence > self.enter_threshold
        elif confidence < self.exit_threshold:
            self.count += 1
            self.in_pose = False
        return self.count
