"""Long sequences for benchmarks/fitness_report.py: the shared clips (1-6 repetitions) joined into 20-30.

Three ways, on the clips with at least one labelled repetition:

- **joined, with an absence**: the clips of one exercise one after the other, with 2 s without a pose
  between them (one person leaves the frame, the next comes in); the folder repeated until it holds at
  least 20 labels, then cut into runs of 20-30 labels. Truth: the sum of their labels.
- **joined, hard cuts**: the same with no frame between them (a cut from one person and camera to another).
- **looped from label to label**: a clip with two labels or more, from its first labelled frame to the
  frame before its last, repeated back to back until it holds 20 repetitions or more, every other copy
  played 1.3 times slower (its times re-based). Each copy holds exactly (labels - 1) repetitions, by the
  label definition (a repetition runs from one labelled start to the next), so the truth does not
  depend on how a clip's first and last, cut-off, repetitions are labelled; the seams join a rest pose
  to the same person's rest pose.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from blazepose.fitness.session import PoseSequence, analyse


def joined(sequences: list[PoseSequence], gap_s: float) -> PoseSequence:
    """``sequences`` one after the other, each re-timed to start one frame after the last (plus ``gap_s``
    of frames without a pose between two)."""
    out = PoseSequence()
    t0 = 0.0
    for k, sequence in enumerate(sequences):
        times, px, world = sequence.arrays()
        step = float(np.median(np.diff(times)))
        if k:
            for _ in range(round(gap_s / step)):
                out.append(t0, None, None)
                t0 += step
        for t, p, w in zip(times - times[0] + t0, px, world, strict=True):
            out.append(t, p, w)
        t0 = out.times_s[-1] + step
    return out


def runs_of_labels(rows: list[dict], kind: str, low: int = 20) -> list[list[dict]]:
    """The labelled clips of ``kind`` (the folder repeated until it holds ``low`` labels), cut into runs of
    at least ``low`` labels in name order (a short remainder joins the last run)."""
    clips = [r for r in rows if r["kind"] == kind and r["true"] > 0]
    if not clips:
        return []
    clips = clips * -(-low // sum(r["true"] for r in clips))
    runs: list[list[dict]] = [[]]
    for r in clips:
        if sum(c["true"] for c in runs[-1]) >= low:
            runs.append([])
        runs[-1].append(r)
    if len(runs) > 1 and sum(c["true"] for c in runs[-1]) < low:
        last = runs.pop()
        runs[-1] += last
    return runs


def long_rows(rows: list[dict], kinds: tuple[str, ...]) -> Iterator[dict]:
    """One row per long sequence: how it was made, truth, count (exercise given and recognised) and the
    sum of the counts of its clips alone."""
    for kind in kinds:
        for run in runs_of_labels(rows, kind):
            for how, gap in (("joined, 2 s absence", 2.0), ("joined, hard cuts", 0.0)):
                sequence = joined([r["sequence"] for r in run], gap)
                truth, alone = sum(r["true"] for r in run), sum(r["count_given"] for r in run)
                yield _row(how, kind, len(run), sequence, truth, alone)
    for r in rows:
        if r["true"] > 1:
            copies = -(-20 // (r["true"] - 1))
            sequence = looped(r["sequence"], r["truth_times"][0], r["truth_times"][-1], copies)
            yield _row(f"{r['clip']} looped", r["kind"], copies, sequence, copies * (r["true"] - 1), None)


def looped(sequence: PoseSequence, from_s: float, to_s: float, copies: int, slower: float = 1.3) -> PoseSequence:
    """The frames of ``sequence`` in ``[from_s, to_s)``, ``copies`` times, every other copy ``slower``."""
    times, px, world = sequence.arrays()
    step = float(np.median(np.diff(times)))
    part = (times >= from_s - 1e-6) & (times < to_s - 1e-6)
    out = PoseSequence()
    t = 0.0
    for k in range(copies):
        for p, w in zip(px[part], world[part], strict=True):
            out.append(t, p, w)
            t += step * (slower if k % 2 else 1.0)
    return out


def _row(how: str, kind: str, clips: int, sequence: PoseSequence, truth: int, clips_count: int | None) -> dict:
    given, auto = analyse(sequence, kind), analyse(sequence)
    return {"how": how, "kind": kind, "clips": clips, "seconds": sequence.times_s[-1] - sequence.times_s[0],
            "true": truth, "count_given": given.count, "count": auto.count, "recognised": auto.exercise,
            "clips_count": clips_count}  # fmt: skip
