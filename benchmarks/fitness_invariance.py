"""Do repetition counts stay the same when the clips are mirrored, shrunk, turned or thinned? No labels needed.

A coach's count should not depend on which side the camera films from, how far it stands, a tilted
phone or the frame rate. This writes copies of every clip of ../shared/data/exercise under such
changes (with their label CSVs, frame numbers mapped), then compares what ``blazepose reps`` counts
(exercise given, and recognised) on each copy:

    PYTHONPATH=src python benchmarks/fitness_invariance.py write /tmp/inv identity mirror small rot10 fps15
    for v in identity mirror small rot10 fps15; do
      PYTHONPATH=src python -m blazepose run /tmp/inv/$v/*/*.mp4 --out /tmp/inv_lm/$v --formats npz \\
          --no-annotate --quiet
    done
    PYTHONPATH=src python benchmarks/fitness_invariance.py report /tmp/inv /tmp/inv_lm identity mirror small rot10 fps15

Variants: ``identity`` (re-encoded only: MPEG-4 Part 2, as every variant), ``mirror`` (left-right),
``small`` (half size in the middle of a black frame), ``rot10`` (turned 10 degrees), ``fps15`` (every
other frame, at half the frame rate). The first variant named is the one the others are compared with;
docs/fitness_invariance.md compares them with ``orig``, the clips themselves (``/tmp/inv/orig/<kind>/``
holding their CSVs, ``/tmp/inv_lm/orig`` their landmarks from ``blazepose run`` as above).
"""

from __future__ import annotations

import csv
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from fitness_report import KINDS, longest_sequence, summary, true_start_frames

from blazepose.fitness.session import analyse, sequences_from_records
from blazepose.io.landmark_files import load_landmarks

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "exercise"


def _small(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    out = np.zeros_like(frame)
    out[h // 4 : h // 4 + h // 2, w // 4 : w // 4 + w // 2] = cv2.resize(
        frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA
    )
    return out


def _turned(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return cv2.warpAffine(frame, cv2.getRotationMatrix2D((w / 2, h / 2), 10, 1.0), (w, h))


VARIANTS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    "identity": (lambda f: f, 1),
    "mirror": (lambda f: cv2.flip(f, 1), 1),
    "small": (_small, 1),
    "rot10": (_turned, 1),
    "fps15": (lambda f: f, 2),
}
"""Variant -> (what it does to a frame, keep every n-th frame)."""


VARIANT_NOTE = (
    "`orig`: the clips themselves; `identity`: re-encoded (MPEG-4 Part 2, as every copy); `mirror`: left-right; "
    "`small`: half size in the middle of a black frame; `rot10`: turned 10 degrees; `fps15`: every other frame."
)


def write_variant(name: str, out_root: Path) -> None:
    change, step = VARIANTS[name]
    for clip in sorted(DATA.glob("*/*.mp4")):
        out = out_root / name / clip.parent.name
        out.mkdir(parents=True, exist_ok=True)
        source = cv2.VideoCapture(str(clip))
        fps, size = source.get(cv2.CAP_PROP_FPS), (int(source.get(3)), int(source.get(4)))
        writer = cv2.VideoWriter(str(out / clip.name), cv2.VideoWriter_fourcc(*"mp4v"), fps / step, size)
        index = 0
        while True:
            ok, frame = source.read()
            if not ok:
                break
            if index % step == 0:
                writer.write(change(frame))
            index += 1
        writer.release()
        source.release()
        write_labels(clip, out, index, step)
        print(f"{name}: {clip.name}", flush=True)


def write_labels(clip: Path, out: Path, frames: int, step: int) -> None:
    """The clip's label CSV for its copy that keeps every ``step``-th of its ``frames`` frames (a start on a
    dropped frame goes to the frame kept before it)."""
    starts = true_start_frames(clip.with_suffix(".csv"))
    with open(out / clip.with_suffix(".csv").name, "w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["frame", "time", "label"])
        rows.writerows([k, round(k * step / 30, 4), int(any(k * step <= s < (k + 1) * step for s in starts))]
                       for k in range((frames + step - 1) // step))  # fmt: skip


def count_variant(clips_root: Path, landmarks_root: Path) -> dict[str, dict]:
    """Per clip: true count, counts with the exercise given and recognised, the exercise recognised."""
    rows = {}
    for csv_path in sorted(clips_root.glob("*/*.csv")):
        kind = KINDS[csv_path.parent.name]
        records = load_landmarks(landmarks_root / f"{csv_path.stem}.landmarks.npz")
        sequences = sequences_from_records(records, all(len(r.result) <= 1 for r in records))
        row = {"clip": csv_path.stem, "kind": kind, "true": len(true_start_frames(csv_path)), "given": 0, "count": 0,
               "recognised": "none"}  # fmt: skip
        if sequences:
            seq = longest_sequence(sequences)
            auto = analyse(seq)
            row.update(given=analyse(seq, kind).count, count=auto.count, recognised=auto.exercise)
        rows[row["clip"]] = row
    return rows


def report(clips_root: Path, landmarks_root: Path, names: list[str]) -> None:
    counted = {name: count_variant(clips_root / name, landmarks_root / name) for name in names}
    base = counted[names[0]]
    print(f"# Counts on changed copies of the clips\n\nMade by `benchmarks/fitness_invariance.py` (its docstring "
          f"has the commands); `full` model, each copy compared with `{names[0]}`. {VARIANT_NOTE}\n")  # fmt: skip
    print("| variant | labelled clips, exercise given | all clips, recognised | recognised | counts that differ "
          f"from {names[0]}'s (given) |\n|---|---|---|---|---|")  # fmt: skip
    for name, rows in counted.items():
        labelled = [r for r in rows.values() if r["true"] > 0]
        differ = [f"{c} {base[c]['given']}->{r['given']}" for c, r in rows.items() if r["given"] != base[c]["given"]]
        recognised = sum(r["recognised"] == r["kind"] for r in rows.values())
        print(f"| {name} | {summary(labelled, 'given')} | {summary(list(rows.values()), 'count')} | "
              f"{recognised}/{len(rows)} | {len(differ)}: {', '.join(differ) or '-'} |")  # fmt: skip
    varying = [c for c in base if len({counted[n][c]["given"] for n in names}) > 1]
    print(f"\nClips whose count (exercise given) is not the same on every variant: {len(varying)}/{len(base)}: "
          f"{', '.join(varying)}.")  # fmt: skip


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "write" and set(argv[2:]) <= set(VARIANTS):
        for name in argv[2:]:
            write_variant(name, Path(argv[1]))
        return 0
    if len(argv) >= 4 and argv[0] == "report":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report(Path(argv[1]), Path(argv[2]), argv[3:])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
