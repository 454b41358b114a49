"""Hard cuts (``ShotCuts``): the counter analyses each shot of a video apart, as it does bouts after an absence."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from blazepose.fitness.session import RepTracker
from blazepose.fitness.shots import CUT_THRESHOLD, ShotCuts
from fitness_poses import pose_result, standing_pose


def _scene(seed: int, size=(360, 640)) -> np.ndarray:
    """A textured background (smooth random blobs), different for each seed."""
    noise = np.random.default_rng(seed).uniform(0, 255, (size[0] // 20, size[1] // 20, 3)).astype(np.float32)
    return cv2.resize(noise, size[::-1], interpolation=cv2.INTER_CUBIC).clip(0, 255)


def _frames(scene: np.ndarray, count: int, start: int) -> list[np.ndarray]:
    """A dark 'person' crossing ``scene`` 12 px a frame while the light rises half a level a frame."""
    out = []
    for k in range(count):
        frame = scene + 0.5 * (start + k)
        x = 40 + 12 * k
        frame[100:300, x : x + 60] = 20
        out.append(frame.clip(0, 255).astype(np.uint8))
    return out


def test_shots_change_at_cuts_only():
    frames = _frames(_scene(1), 30, 0) + _frames(_scene(2), 30, 30) + _frames(_scene(1), 30, 60)
    cuts = ShotCuts()
    shots = [cuts.update(f) for f in frames]
    assert shots == [0] * 30 + [1] * 30 + [2] * 30
    assert ShotCuts(threshold=1e6).update(frames[0]) == 0 and cuts.shot == 2
    cuts.reset()
    assert cuts.update(frames[40]) == 0 and cuts.update(frames[0]) == 1


def test_bad_frames_and_thresholds_are_refused():
    cuts = ShotCuts()
    for frame in (np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.float32), [[0, 0, 0]]):
        with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) uint8 frame"):
            cuts.update(frame)  # type: ignore[arg-type]
    for threshold in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="expected a finite threshold > 0"):
            ShotCuts(threshold)
    assert CUT_THRESHOLD == ShotCuts().threshold


def _three_cameras(fps: int = 30) -> list[tuple[float, object, int]]:
    """``(time, PoseResult, shot)``: 6 squats filmed from the front, a cut to a camera farther off and
    turned 1.2 rad (6 squats), a cut to a third (5 squats), no absence between; one track id throughout."""
    rng = np.random.default_rng(0)
    frames, n = [], 0
    for shot, (reps, x0, scale, angle) in enumerate([(6, 300, 1.0, 0.0), (6, 900, 0.5, 1.2), (5, 500, 0.7, -0.3)]):
        t = np.arange(int(reps * 2.0 * fps)) / fps
        depths = np.concatenate([np.zeros(20), 0.5 - 0.5 * np.cos(np.pi * t), np.zeros(20)])
        turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        for d in depths:
            pose = standing_pose(d, x0, scale)
            pose[:, :2] = (pose[:, :2] - (x0, 400)) @ turn.T + (x0, 400)
            pose += rng.normal(0, 2.0, pose.shape) * (1, 1, 0)
            frames.append((n / fps, pose_result(pose, (720, 1280)), shot))
            n += 1
    return frames


def test_a_cut_to_another_camera_starts_a_new_bout():
    """Across the cuts the motion lies along other directions, at other scales: analysed as one bout,
    the squats of the second camera were lost."""
    with_shots, without = RepTracker(exercise="squat"), RepTracker(exercise="squat")
    for time_s, result, shot in _three_cameras():
        with_shots.update(result, time_s, shot)
        without.update(result, time_s)
    assert with_shots.reports()[0].count == 17
    assert without.reports()[0].count < 17  # what the cuts cost before (12 here)
    assert set(with_shots.sequences[0].shots) == {0, 1, 2}


def test_reps_command_numbers_the_shots_of_a_video(tmp_path, monkeypatch):
    from blazepose import cli

    path = tmp_path / "cuts.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 360))
    for frame in _frames(_scene(1), 12, 0) + _frames(_scene(2), 12, 12):
        writer.write(frame)
    writer.release()
    seen: list[int] = []
    update = RepTracker.update

    def recording(self, result, time_s, shot=0):
        seen.append(shot)
        return update(self, result, time_s, shot)

    monkeypatch.setattr(RepTracker, "update", recording)
    code = cli.main(["reps", str(path), "--exercise", "squat", "--model", "lite", "--no-annotate", "--quiet",
                     "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    assert seen == [0] * 12 + [1] * 12


def test_a_new_frame_size_is_a_new_shot():
    # (A stream whose second half came at half the size counted 0 squats: its landmarks, in pixels, jumped.)
    cuts = ShotCuts()
    frame = np.full((180, 320, 3), 90, np.uint8)
    assert [cuts.update(frame), cuts.update(frame)] == [0, 0]
    assert cuts.update(cv2.resize(frame, (160, 90))) == 1
