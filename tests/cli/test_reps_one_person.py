"""``blazepose reps`` on one person who left the frame and came back under a new track id: one count."""

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

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


class _Frame:
    def __init__(self, index: int, time_s: float) -> None:
        self.index, self.timestamp_ms, self.rgb = index, time_s * 1000, np.zeros((72, 60, 3), np.uint8)


class _Source:
    """A video file's frames, each with the result a fake landmarker gives for it."""

    expected_frames = None
    frame_rate = 30.0

    def __init__(self, frames) -> None:
        self._frames = frames

    def frames(self):
        return (_Frame(i, t) for i, (t, _) in enumerate(self._frames))

    def close(self) -> None:
        pass


class _Landmarker:
    def __init__(self, frames) -> None:
        self._by_ms = {t * 1000: r for t, r in frames}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def detect_for_video(self, rgb, timestamp_ms):
        return SimpleNamespace(result=self._by_ms[timestamp_ms])


@pytest.mark.parametrize(("num_poses", "counts"), [(1, {"0": 15}), (2, {"0": 8, "1": 7})])
def test_a_video_file_keeps_every_track_it_saw(tmp_path, monkeypatch, num_poses, counts):
    """The video path (landmarker on decoded frames), landmarker and decoder faked: one person followed
    alone is one count; with --num-poses 2 each track keeps its count, also track 0, gone for 3 s (it was
    forgotten after 30 frames, unlike in the same poses read from a landmark file)."""
    from blazepose.cli import reps
    from blazepose.io.inputs import Input

    frames = one_person_leaving()
    monkeypatch.setattr(reps, "_source", lambda inp: _Source(frames))
    monkeypatch.setattr(reps, "open_landmarker", lambda settings, video: _Landmarker(frames))
    args = SimpleNamespace(out=str(tmp_path), model="lite", num_poses=num_poses, threads=None, exercise="squat",
                           count_class=None, no_annotate=True)  # fmt: skip
    paths = {k: tmp_path / f"v.reps.{k}" for k in ("csv", "json")}
    summary = reps._process(
        Input("video", "v.mp4"), paths, args, None, reps.Reporter(True, False), {"requested": False}
    )
    assert {k: v["count"] for k, v in summary["tracks"].items()} == counts
