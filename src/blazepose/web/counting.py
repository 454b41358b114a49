"""Repetitions counted live on a WebSocket: :class:`~blazepose.fitness.RepTracker` per connection.

:mod:`blazepose.fitness` is imported only when a client turns counting on.
The tracker takes every frame (about 0.01 ms); the analysis that gives the
counts runs every :data:`REANALYSE_EVERY` frames over a recent window only
(repetitions that ended more than
:data:`~blazepose.fitness.live.DEFAULT_HORIZON_S` ago are frozen, older frames
dropped: :class:`~blazepose.fitness.live.LiveWindow`), so that its cost per
frame and the memory stay bounded however long a session runs (docs/web.md
gives the measured costs). Answers in between repeat the last counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

REANALYSE_EVERY = 5  # frames
KNOWN_KEYS = ("exercise",)


@dataclass(frozen=True)
class FitnessOptions:
    """What a client may choose for counting: the exercise, ``auto`` (recognised per person) or a known one."""

    exercise: str = "auto"

    @classmethod
    def from_mapping(cls, values: Any) -> FitnessOptions | None:
        """Checked options from a config message's ``fitness`` value; None (counting off) for null.

        Raises:
            ValueError: not null or an object, an unknown key, or an exercise that is not
                ``auto`` or one of the exercises :mod:`blazepose.fitness` knows.
        """
        if values is None:
            return None
        if not isinstance(values, dict):
            raise ValueError(f'fitness must be null or a JSON object such as {{"exercise": "auto"}}, got {values!r}')
        unknown = sorted(set(values) - set(KNOWN_KEYS))
        if unknown:
            raise ValueError(f"unknown fitness option(s) {unknown}; expected some of {list(KNOWN_KEYS)}")
        exercise = values.get("exercise", "auto")
        from blazepose.fitness.recognition import EXERCISE_NAMES, canonical_exercise

        known = ("auto", *EXERCISE_NAMES)
        if not isinstance(exercise, str) or not exercise.strip() or canonical_exercise(exercise) not in known:
            raise ValueError(f"fitness exercise must be one of {list(known)}, got {exercise!r}")
        return cls(canonical_exercise(exercise))


class LiveCounter:
    """One connection's repetition counts, per track id, from its results and the browser's clock.

    With ``one_person`` (a connection following one pose), one count under the first track id seen, kept
    when the person leaves the frame and comes back under a new id (:class:`RepTracker`'s ``one_person``).
    """

    def __init__(self, options: FitnessOptions, one_person: bool = False) -> None:
        from blazepose.fitness.live import DEFAULT_HORIZON_S
        from blazepose.fitness.session import RepTracker

        self.options = options
        self._tracker = RepTracker(exercise=options.exercise, one_person=one_person, horizon_s=DEFAULT_HORIZON_S)
        self.frames = 0
        self._tracks: list[dict[str, Any]] = []
        self._analysed = 0  # frames covered by the counts in self._tracks

    def update(self, result, time_s: float) -> dict[str, Any]:
        """Adds one frame and returns the answer's ``fitness`` field (see docs/web.md).

        Raises:
            ValueError: ``time_s`` is not after the previous frame's (the counter is unchanged).
        """
        self._tracker.update(result, time_s)
        self.frames += 1
        if (self.frames - 1) % REANALYSE_EVERY == 0:
            self._tracks = [
                {"id": track, "exercise": report.exercise, "count": report.count, "phase": phase_name(report.phase)}
                for track, report in sorted(self._tracker.reports().items())
            ]
            self._analysed = self.frames
        return {
            "exercise": self.options.exercise,
            "frames": self.frames,
            "counted_frames": self._analysed,
            "tracks": self._tracks,
        }


def phase_name(phase) -> str | None:
    """Where the last frame is in a repetition: rest, going, far point, returning; None without a pose.

    ``phase`` is a report's (T,) phase: 1 at rest, 0 at the far side, NaN without a pose.
    """
    if len(phase) == 0 or not math.isfinite(phase[-1]):
        return None
    now = float(phase[-1])
    if now >= 2 / 3:
        return "rest"
    if now <= 1 / 3:
        return "far point"
    before = float(phase[max(len(phase) - 4, 0)])
    return "returning" if math.isfinite(before) and now > before else "going"
