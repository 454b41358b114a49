"""Live counting (``RepTracker(horizon_s=20)``) against the whole-sequence analysis on the shared clips.

    PYTHONPATH=src python benchmarks/fitness_live_check.py /tmp/fit_lm_full [seconds]

Each clip's cached landmarks (see ``benchmarks/fitness_report.py`` for the command that writes them) are
repeated to ``seconds`` (default 120) at 30 frames a second and counted both ways: the whole sequence
once, and live with a report every ``REANALYSE_EVERY`` frames as ``blazepose reps`` does on a stream.
Prints the clips whose exercise or count differ, then how many agree. Clips with two poses in a frame
are left out (counted one person, as a stream followed with one pose).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fitness_report import DATA

from blazepose.cli.reps import REANALYSE_EVERY
from blazepose.fitness.live import DEFAULT_HORIZON_S
from blazepose.fitness.session import RepTracker
from blazepose.io.landmark_files import load_landmarks


def main(landmark_dir: str, seconds: float) -> None:
    same = total = 0
    for csv_path in sorted(DATA.glob("*/*.csv")):
        records = load_landmarks(Path(landmark_dir) / f"{csv_path.stem}.landmarks.npz")
        if any(len(record.result) > 1 for record in records):
            continue
        whole = RepTracker(id_memory=10**9, one_person=True)
        live = RepTracker(id_memory=30, one_person=True, horizon_s=DEFAULT_HORIZON_S)
        for k in range(int(seconds * 30)):
            result = records[k % len(records)].result
            whole.update(result, k / 30)
            live.update(result, k / 30)
            if k % REANALYSE_EVERY == 0:
                live.reports()
        expected = {t: (r.exercise, r.count) for t, r in whole.reports().items()}
        counted = {t: (r.exercise, r.count) for t, r in live.reports().items()}
        total += 1
        same += expected == counted
        if expected != counted:
            print(f"{csv_path.stem} ({len(records)} frames): whole {expected}, live {counted}", flush=True)
    print(f"{same}/{total} clips counted the same, repeated to {seconds:g} s")


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 120.0)
