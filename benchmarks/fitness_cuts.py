"""Writes docs/fitness_cuts.md: repetitions counted across hard cuts, with and without shot detection.

    PYTHONPATH=src python benchmarks/fitness_cuts.py > docs/fitness_cuts.md

For each exercise folder of ../shared/data/exercise, its clips with at least one labelled repetition are
joined into one 1280x720 video (each clip letterboxed, no frame between two: a hard cut to another
person, place or camera, as in an edited workout video). The video is run as ``blazepose reps`` runs it
(decoded by PyAV with its container times, ``PoseLandmarker`` in VIDEO mode, ``full``, one person
followed across track ids) and counted twice: with
each frame's shot from :class:`blazepose.fitness.shots.ShotCuts` (what ``blazepose reps`` does) and
without. True count: the labels of its clips (each clip counted on its own gives 6 / 28 / 46 / 4 in
the order of the table: docs/fitness.md). Also measured on every clip's consecutive frames and on the
seams between clips: the frame difference that :data:`~blazepose.fitness.shots.CUT_THRESHOLD` is
compared with.
"""

from __future__ import annotations

import csv
import itertools
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from blazepose.core.timestamps import after_previous_ms
from blazepose.fitness.session import RepTracker, analyse
from blazepose.fitness.shots import CUT_THRESHOLD, ShotCuts, small_grey
from blazepose.io.video import VideoSource
from blazepose.runner.jobs import RunSettings, open_landmarker

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "exercise"
EXERCISES = {"squats": "squat", "push-ups": "push-up", "pull-ups": "pull-up", "dips": "dip"}
SIZE = (1280, 720)
CUT_TIMES: list[float] = []  # seconds of each ShotCuts.update


def labels(clip: Path) -> int:
    with open(clip.with_suffix(".csv")) as f:
        return sum(float(row["label"] or 0) == 1.0 for row in csv.DictReader(f))


def letterboxed(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = min(SIZE[0] / w, SIZE[1] / h)
    small = cv2.resize(frame, (round(w * scale), round(h * scale)))
    canvas = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    y, x = (SIZE[1] - small.shape[0]) // 2, (SIZE[0] - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


def clip_frames(clip: Path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(clip))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(letterboxed(frame))


def main() -> int:
    rows, inside, seams = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for name, exercise in EXERCISES.items():
            clips = [c for c in sorted((DATA / name).glob("*.mp4")) if labels(c)]
            path = Path(folder) / f"{name}.mp4"
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, SIZE)
            last = None
            for clip in clips:
                frames = clip_frames(clip)
                small = [small_grey(f) for f in frames]
                inside += [float(np.abs(a - b).mean()) for a, b in itertools.pairwise(small)]
                if last is not None:
                    seams.append(float(np.abs(last - small[0]).mean()))
                last = small[-1]
                for frame in frames:
                    writer.write(frame)
            writer.release()
            rows.append((name, exercise, len(clips), sum(labels(c) for c in clips), *counts(path, exercise)))
            print(rows[-1], file=sys.stderr, flush=True)
    inside_a, seams_a = np.array(inside), np.array(seams)
    print(__doc__.split("\n\n", 1)[1].replace("    PYTHONPATH", "Made by `PYTHONPATH", 1).replace(
        "docs/fitness_cuts.md\n", "docs/fitness_cuts.md`\n", 1))  # fmt: skip
    print("| exercise | clips | true | with shots, exercise given | recognised | with shots, recognised | "
          "without shots, exercise given | shots found |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for name, _, n, true, given, recognised, auto, without, shots in rows:
        print(f"| {name} | {n} | {true} | {given} | {recognised} | {auto} | {without} | {shots} |")
    total = sum(r[3] for r in rows)
    for k, label in ((4, "with shots, exercise given"), (7, "without shots, exercise given")):
        error = sum(abs(r[k] - r[3]) for r in rows)
        print(f"\n- {label}: total |error| {error}/{total} ({100 * error / total:.0f}%)")
    print(f"\nThe frame difference (mean absolute difference of grey 64x36 frames, 0-255) against the threshold "
          f"{CUT_THRESHOLD:g}: {int((inside_a > CUT_THRESHOLD).sum())} of the clips' {len(inside_a)} consecutive "
          f"frame pairs reach it (99.9th percentile {np.percentile(inside_a, 99.9):.1f}, largest "
          f"{inside_a.max():.1f}), and {int((seams_a > CUT_THRESHOLD).sum())} of the {len(seams_a)} seams between "
          f"clips (smallest {seams_a.min():.1f}, median {np.median(seams_a):.1f}). A seam below it joins two clips "
          "that look alike (most are cut from one recording: the person and the camera go on), so nothing "
          "marks the cut; the counter then sees one bout, as before.")  # fmt: skip
    print(
        f"\nCost: `ShotCuts.update` took {1000 * np.median(CUT_TIMES):.3f} ms per 1280x720 frame (median of "
        f"{len(CUT_TIMES)}), on top of the fitness step of docs/fitness.md."
    )
    return 0


def counts(path: Path, exercise: str) -> tuple[int, str, int, int, int]:
    """(count with shots and the exercise given, exercise recognised, count with shots and recognised,
    count without shots and the exercise given, shots found), the frames decoded, timed and run as
    ``blazepose reps`` does."""
    cuts = ShotCuts()
    with_shots, without = RepTracker(one_person=True, id_memory=10**9), RepTracker(one_person=True, id_memory=10**9)
    settings = RunSettings(out=Path("."), model="full", num_poses=1)
    source = VideoSource(str(path))
    last_ms = None
    with open_landmarker(settings, video=True) as landmarker:
        for frame in source.frames():
            last_ms = after_previous_ms(frame.timestamp_ms, last_ms)
            result = landmarker.detect_for_video(frame.rgb, last_ms).result
            started = time.perf_counter()
            shot = cuts.update(frame.rgb)
            CUT_TIMES.append(time.perf_counter() - started)
            with_shots.update(result, last_ms / 1000, shot)
            without.update(result, last_ms / 1000)
    source.close()
    (sequence,) = with_shots.sequences.values()
    (plain,) = without.sequences.values()
    auto = analyse(sequence)
    return analyse(sequence, exercise).count, auto.exercise, auto.count, analyse(plain, exercise).count, cuts.shot + 1


if __name__ == "__main__":
    sys.exit(main())
