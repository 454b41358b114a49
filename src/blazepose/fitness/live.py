"""Live counting at a bounded cost: repetitions that ended long enough ago are frozen, the rest re-analysed.

A camera or a stream is counted by re-analysing its sequence every few frames. Re-analysing the whole
sequence makes each analysis cost its length, hence a cost per frame that grows with the time the
stream has run. :class:`LiveWindow` analyses only a recent window instead: after each analysis it
looks for a cut point at least ``horizon_s`` before the last frame, at a rest point (a frame whose
phase is at rest, or without a pose) inside no counted repetition. The repetitions before the cut
(their middle before it) are frozen: kept as they are, never re-analysed. The frames more than
``margin_s`` before the cut are dropped from the sequence: the margin lets the next analysis see the
rest before the cut (a trip counts from rest), and the repetitions it finds with their middle before
the cut are the frozen ones, not counted again. A window thus spans ``margin_s + horizon_s`` plus the
time since the latest rest point before the horizon, and at most ``margin_s + 2 * horizon_s`` (plus
the frames between two reports) when no rest point is found (then it is cut at the horizon anyway).

The horizon must be longer than what the analysis of :mod:`~blazepose.fitness.periodic` looks at
around a frame: the running median and sliding range (``min_window_s``, 10 s, or ``window_periods``
periods) and the dominant period (a few periods), so that the repetitions of the recent window are
counted as in the whole sequence. The exercise, when recognised, is the one of the first window that
froze repetitions, kept from then on. ``benchmarks/fitness_live_check.py`` compares both on the shared
clips, each repeated to 2 minutes: the same exercise and count on 59 of 60 clips with full landmarks
and 58 with lite; on the others the jump where a short clip loops back changes the count (full:
pull-up_17 54 whole, 97 live, the live count nearer the clip's own 2 per loop; lite: pull-up_17 50
and 49, push-up_48 47 and 43).
"""

from __future__ import annotations

import numpy as np

from blazepose.fitness.periodic import CountingConfig
from blazepose.fitness.session import COUNTING, PoseSequence, RepReport, RepRow, analyse

DEFAULT_HORIZON_S = 20.0
MARGIN_S = 3.0


def _middle(rep: RepRow) -> float:
    return (rep.start_s + rep.end_s) / 2


class LiveWindow:
    """The live report of one person's sequence, analysed over a bounded recent window.

    Args:
        horizon_s: How long ago (seconds before the last frame) a repetition must have ended to be
            frozen.
        exercise, config, classifier, count_class: As in :func:`~blazepose.fitness.session.analyse`.
        margin_s: Seconds kept before the cut point.
    """

    def __init__(self, horizon_s: float = DEFAULT_HORIZON_S, exercise: str = "auto",
                 config: CountingConfig | None = None, classifier=None, count_class: str | None = None,
                 margin_s: float = MARGIN_S) -> None:  # fmt: skip
        if not (np.isfinite(horizon_s) and horizon_s > 0):
            raise ValueError(f"expected a finite horizon_s > 0 seconds, got {horizon_s}")
        if not (np.isfinite(margin_s) and margin_s >= 0):
            raise ValueError(f"expected a finite margin_s >= 0 seconds, got {margin_s}")
        self.horizon_s, self.margin_s = float(horizon_s), float(margin_s)
        self.exercise, self.config, self.classifier, self.count_class = exercise, config, classifier, count_class
        self.frozen: list[RepRow] = []
        self.cut_s = -np.inf  # the last cut point: repetitions with their middle before it are frozen
        self.analysed_frames = 0  # the length of the last window analysed

    def report(self, sequence: PoseSequence) -> RepReport:
        """Analyses the window ``sequence`` holds (the report: frozen repetitions plus its own), then
        drops from its start the frames more than ``margin_s`` before the next cut point."""
        self.analysed_frames = len(sequence)
        recent = analyse(sequence, self.exercise, self.config, self.classifier, self.count_class)
        own = [r for r in recent.reps if _middle(r) > self.cut_s]
        report = RepReport(recent.exercise, recent.main_joint, self.frozen + own, recent.times_s, recent.phase,
                           recent.angle)  # fmt: skip
        cut = self._cut(recent)
        if cut > 0:
            self.cut_s = float(recent.times_s[cut])
            self.frozen = self.frozen + [r for r in own if _middle(r) <= self.cut_s]
            if self.frozen and self.exercise == "auto":
                self.exercise = recent.exercise  # what the frozen repetitions were counted as
            sequence.drop_first(int(np.searchsorted(recent.times_s, self.cut_s - self.margin_s)))
        return report

    def _cut(self, recent: RepReport) -> int:
        """The frame to cut the window at: the last rest point after the last cut, ``horizon_s`` or more
        before the last frame and inside no repetition; the last frame that old if there is none and
        the window spans more than twice the horizon (and the margin); else 0 (no cut)."""
        times, phase = recent.times_s, recent.phase
        if len(times) < 2:
            return 0
        old = int(np.searchsorted(times, times[-1] - self.horizon_s, side="right")) - 1
        if old <= 0 or times[old] <= self.cut_s:
            return 0
        back = (self.config or COUNTING.get(recent.exercise, CountingConfig())).back
        span_t, span_u = times[: old + 1], phase[: old + 1]
        rest = (~np.isfinite(span_u) | (span_u >= back)) & (span_t > self.cut_s)
        for r in recent.reps:
            rest &= ~((span_t > r.start_s) & (span_t < r.end_s))
        points = np.flatnonzero(rest)
        if len(points):
            return int(points[-1])
        return old if times[-1] - times[0] > 2 * self.horizon_s + self.margin_s else 0
