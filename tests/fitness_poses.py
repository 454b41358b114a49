"""Synthetic people for the fitness tests: a stick figure whose squat depth is given per frame."""

from __future__ import annotations

import numpy as np

from blazepose.core.topology import PoseLandmark as L


def standing_pose(depth: float = 0.0, x0: float = 300.0, scale: float = 1.0) -> np.ndarray:
    """(33, 3) pixel landmarks of a person facing the camera; ``depth`` 0 standing .. 1 deep squat."""
    p = np.zeros((33, 3))
    hip_y = 400 + 120 * depth
    knee_y, ankle_y = 500 + 30 * depth, 600
    for side, dx in ((0, -20), (1, 20)):  # 0: left, 1: right
        p[[L.LEFT_HIP, L.RIGHT_HIP][side]] = (x0 + dx, hip_y, 0)
        p[[L.LEFT_KNEE, L.RIGHT_KNEE][side]] = (x0 + dx * 1.2, knee_y, -60 * depth)
        p[[L.LEFT_ANKLE, L.RIGHT_ANKLE][side]] = (x0 + dx, ankle_y, 0)
        p[[L.LEFT_HEEL, L.RIGHT_HEEL][side]] = (x0 + dx, ankle_y + 5, 10)
        p[[L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX][side]] = (x0 + dx, ankle_y + 5, -30)
        p[[L.LEFT_SHOULDER, L.RIGHT_SHOULDER][side]] = (x0 + dx * 1.5, hip_y - 160, 0)
        p[[L.LEFT_ELBOW, L.RIGHT_ELBOW][side]] = (x0 + dx * 1.6, hip_y - 80, -40 * depth)
        p[[L.LEFT_WRIST, L.RIGHT_WRIST][side]] = (x0 + dx * 1.5, hip_y - 10, -80 * depth)
        for hand in ((L.LEFT_PINKY, L.LEFT_INDEX, L.LEFT_THUMB), (L.RIGHT_PINKY, L.RIGHT_INDEX, L.RIGHT_THUMB))[side]:
            p[hand] = p[[L.LEFT_WRIST, L.RIGHT_WRIST][side]] + (0, 10, 0)
    for face in range(11):
        p[face] = (x0 + (face % 3 - 1) * 5, hip_y - 200 - face % 2 * 5, 0)
    return (p - (x0, 0, 0)) * scale + (x0, 0, 0)


def squat_sequence(depths: np.ndarray, noise_px: float = 0.0, seed: int = 0) -> np.ndarray:
    """(T, 33, 3) poses following ``depths`` (NaN depth: no pose that frame), with Gaussian pixel noise."""
    rng = np.random.default_rng(seed)
    out = np.full((len(depths), 33, 3), np.nan)
    for i, d in enumerate(depths):
        if np.isfinite(d):
            out[i] = standing_pose(float(d)) + rng.normal(0, noise_px, (33, 3)) * (1, 1, 0)
    return out


def pose_result(pose: np.ndarray, size: tuple[int, int], track: int = 0):
    """A one-pose PoseResult of (33, 3) pixel landmarks in an image of ``size`` (H, W); no pose if any is NaN."""
    from blazepose.core.results import PoseResult

    if not np.all(np.isfinite(pose)):
        return PoseResult.empty(size, False)
    h, w = size
    lm = (pose / (w, h, w)).astype(np.float32)[None]
    world = ((pose - pose[23:25].mean(axis=0)) / 300).astype(np.float32)[None]
    ones = np.ones((1, 33), np.float32)
    return PoseResult(lm, world, ones, ones, np.ones(1, np.float32), np.zeros((1, 5), np.float32), size,
                      track_ids=np.array([track], np.int64))  # fmt: skip


def one_person_leaving(size: tuple[int, int] = (720, 600), fps: int = 30) -> list[tuple[float, object]]:
    """``(time, PoseResult)`` frames: 8 squats as track 0, 3 s out of the frame (no pose), 7 squats as
    track 1 (the id a pose tracker gives someone it lost for longer than its memory)."""
    from blazepose.core.results import PoseResult

    def squats(reps: int) -> np.ndarray:
        t = np.arange((2 * reps + 2) * fps) / fps
        return np.where((t < 1) | (t > 2 * reps + 1), 0.0, 0.5 - 0.5 * np.cos(np.pi * (t - 1)))

    frames: list[tuple[float, object]] = []
    parts = (
        (0, squat_sequence(squats(8), 2.0, seed=1)),
        (-1, [None] * 3 * fps),
        (1, squat_sequence(squats(7), 2.0, seed=2)),
    )
    for track, poses in parts:
        for pose in poses:
            frames.append(
                (len(frames) / fps, PoseResult.empty(size, False) if pose is None else pose_result(pose, size, track))
            )
    return frames
