"""``blazepose reps`` on one person who left the frame and came back under a new track id: one count."""

import json
import subprocess
import sys

from blazepose.io.landmark_files import FrameRecord, save_npz
from fitness_poses import one_person_leaving


def _reps(*args):
    return subprocess.run([sys.executable, "-m", "blazepose", "reps", *map(str, args)], capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_a_person_who_left_and_came_back_is_counted_once(tmp_path):
    """A landmark file with at most one pose a frame: 8 squats (track 0), 3 s away, 7 squats (track 1)."""
    records = [FrameRecord(i, t * 1000, r) for i, (t, r) in enumerate(one_person_leaving())]
    save_npz(tmp_path / "set.landmarks.npz", records)
    run = _reps(tmp_path / "set.landmarks.npz", "--out", tmp_path, "--json", "--exercise", "squat")
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert (summary["count"], len(summary["reps"]), summary["track_id"]) == (15, 15, 0)
    per_track = _reps(tmp_path / "set.landmarks.npz", "--out", tmp_path, "--json", "--exercise", "squat",
                      "--num-poses", "2", "--force")  # fmt: skip
    assert per_track.returncode == 0, per_track.stderr
    tracks = json.loads(per_track.stdout.strip().splitlines()[-1])["tracks"]
    assert {k: v["count"] for k, v in tracks.items()} == {"0": 8, "1": 7}
