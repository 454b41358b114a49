"""Which exercise a pose sequence shows: squat, push-up, pull-up, dip, or none.

Rules on scale-free features of the whole sequence, no training:

- the wrists above the shoulders in most frames (in the image, whose
  vertical is taken as gravity's): pull-up (hanging, or lying under a bar);
- else the torso's median tilt from vertical (in 3D, from the world
  landmarks): lying (over 50 degrees) means push-up;
- upright otherwise: squat if the knees bend through a wider range than the
  elbows, dip if the elbows do;
- none when the body hardly moves (main motion under ``min_range_torso``) or
  no pose was seen in most frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blazepose.core.topology import PoseLandmark as L
from blazepose.fitness.angles import joint_angles

EXERCISE_NAMES = ("squat", "push-up", "pull-up", "dip")


def canonical_exercise(name: str) -> str:
    """The known exercise a common spelling means (``Squats``, ``pushup``, ``pull_ups``), other names as given.

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: it is empty.
    """
    if not isinstance(name, str):
        raise TypeError(f"expected 'auto' or an exercise name such as {EXERCISE_NAMES}, got {name!r}")
    if not name.strip():
        raise ValueError(f"expected 'auto' or an exercise name such as {EXERCISE_NAMES}, got {name!r}")
    key = name.strip().lower().replace("_", "").replace("-", "").replace(" ", "").removesuffix("s")
    known = {n.replace("-", ""): n for n in (*EXERCISE_NAMES, "none", "auto")}
    return known.get(key, name.strip())


@dataclass(frozen=True)
class SequenceFeatures:
    """Features of a sequence that tell exercises apart (angles in degrees)."""

    pose_fraction: float
    torso_tilt: float
    wrists_above_shoulders: float
    knee_range: float
    elbow_range: float


def side_mean(angles: dict[str, np.ndarray], joint: str) -> np.ndarray:
    """The mean of the left and right angle of ``joint`` (one side where the other is NaN)."""
    left, right = angles[f"left_{joint}"], angles[f"right_{joint}"]
    both = np.stack([left, right])
    count = np.sum(np.isfinite(both), axis=0)
    total = np.nansum(both, axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _range(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.subtract(*np.percentile(finite, [95, 5]))) if len(finite) else 0.0


def sequence_features(landmarks_px: np.ndarray, world_landmarks: np.ndarray) -> SequenceFeatures:
    """Features of a sequence.

    Args:
        landmarks_px: (T, 33, 2 or 3) pixel landmarks, NaN where no pose.
        world_landmarks: (T, 33, 3) world landmarks (metres), NaN where no pose: the torso's
            tilt and the joint angles are taken in 3D, so that a push-up filmed head-on is lying.
    """
    p = np.asarray(landmarks_px, np.float64)[..., :2]
    w = np.asarray(world_landmarks, np.float64)
    if w.shape != (len(p), 33, 3):
        raise ValueError(f"expected world landmarks of shape {(len(p), 33, 3)}, got {w.shape}")
    valid = np.all(np.isfinite(p.reshape(len(p), -1)), axis=1) & np.all(np.isfinite(w.reshape(len(w), -1)), axis=1)
    if not valid.any():
        return SequenceFeatures(0.0, 0.0, 0.0, 0.0, 0.0)
    q, v = p[valid], w[valid]
    torso = (v[:, L.LEFT_SHOULDER] + v[:, L.RIGHT_SHOULDER]) / 2 - (v[:, L.LEFT_HIP] + v[:, L.RIGHT_HIP]) / 2
    tilt = np.degrees(np.arctan2(np.linalg.norm(torso[:, [0, 2]], axis=1), np.abs(torso[:, 1])))
    wrists_y = np.maximum(q[:, L.LEFT_WRIST, 1], q[:, L.RIGHT_WRIST, 1])  # the lower wrist (image y grows down)
    angles = joint_angles(v)
    return SequenceFeatures(
        pose_fraction=float(valid.mean()),
        torso_tilt=float(np.median(tilt)),
        wrists_above_shoulders=float(np.mean(wrists_y < (q[:, L.LEFT_SHOULDER, 1] + q[:, L.RIGHT_SHOULDER, 1]) / 2)),
        knee_range=_range(side_mean(angles, "knee")),
        elbow_range=_range(side_mean(angles, "elbow")),
    )


def recognise_exercise(
    features: SequenceFeatures, moving: bool = True, lying_tilt: float = 50.0, hanging_fraction: float = 0.5
) -> str:
    """The exercise named by the rules above, or ``"none"``.

    Args:
        features: From :func:`sequence_features`.
        moving: False when the counter found too little motion to count.
        lying_tilt: Median torso tilt (degrees from vertical) above which the body is lying.
        hanging_fraction: Share of frames with the wrists above the shoulders above which it hangs.
    """
    if features.pose_fraction < 0.5 or not moving:
        return "none"
    if features.wrists_above_shoulders > hanging_fraction:
        return "pull-up"  # hanging, or lying under a bar (inverted row)
    if features.torso_tilt > lying_tilt:
        return "push-up"
    return "squat" if features.knee_range >= features.elbow_range else "dip"
