"""MediaPipe's Pose Classification embedding: landmark-difference vectors of a normalized pose.

Facts from MediaPipe's Pose Classification guide: landmarks in pixels with z
scaled like x; the pose translated to the hip centre and divided by
max(2.5 x torso size, largest distance of a landmark from the hip centre),
both measured in x and y only, then multiplied by 100; the embedding is a
fixed list of 23 differences between landmarks (or landmark centres).
"""

from __future__ import annotations

import numpy as np

from blazepose.core.topology import PoseLandmark as L

TORSO_MULTIPLIER = 2.5
EMBEDDING_SCALE = 100.0

# (from, to) pairs; a pair of landmarks in a tuple stands for their centre. The embedding holds to - from.
_HIPS = (L.LEFT_HIP, L.RIGHT_HIP)
_SHOULDERS = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
EMBEDDING_PAIRS: tuple[tuple[int | tuple[int, int], int | tuple[int, int]], ...] = (
    (_HIPS, _SHOULDERS),
    # one joint
    (L.LEFT_SHOULDER, L.LEFT_ELBOW), (L.RIGHT_SHOULDER, L.RIGHT_ELBOW),
    (L.LEFT_ELBOW, L.LEFT_WRIST), (L.RIGHT_ELBOW, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_KNEE), (L.RIGHT_HIP, L.RIGHT_KNEE),
    (L.LEFT_KNEE, L.LEFT_ANKLE), (L.RIGHT_KNEE, L.RIGHT_ANKLE),
    # two joints
    (L.LEFT_SHOULDER, L.LEFT_WRIST), (L.RIGHT_SHOULDER, L.RIGHT_WRIST),
    (L.LEFT_HIP, L.LEFT_ANKLE), (L.RIGHT_HIP, L.RIGHT_ANKLE),
    # four joints
    (L.LEFT_HIP, L.LEFT_WRIST), (L.RIGHT_HIP, L.RIGHT_WRIST),
    # five joints (the guide lists hip-to-wrist a second time)
    (L.LEFT_SHOULDER, L.LEFT_ANKLE), (L.RIGHT_SHOULDER, L.RIGHT_ANKLE),
    (L.LEFT_HIP, L.LEFT_WRIST), (L.RIGHT_HIP, L.RIGHT_WRIST),
    # across the body
    (L.LEFT_ELBOW, L.RIGHT_ELBOW), (L.LEFT_KNEE, L.RIGHT_KNEE),
    (L.LEFT_WRIST, L.RIGHT_WRIST), (L.LEFT_ANKLE, L.RIGHT_ANKLE),
)  # fmt: skip
EMBEDDING_SIZE = len(EMBEDDING_PAIRS)


def _point(landmarks: np.ndarray, which: int | tuple[int, int]) -> np.ndarray:
    if isinstance(which, tuple):
        return (landmarks[..., which[0], :] + landmarks[..., which[1], :]) * 0.5
    return landmarks[..., which, :]


def normalize_pose(landmarks_px: np.ndarray) -> np.ndarray:
    """Translates (..., 33, 3) pixel landmarks to the hip centre and scales them to the pose size x 1/100."""
    p = np.asarray(landmarks_px, np.float64)
    if p.ndim < 2 or p.shape[-2:] != (33, 3):
        raise ValueError(f"expected landmarks of shape (..., 33, 3) in pixels, got {p.shape}")
    hips = _point(p, _HIPS)
    shoulders = _point(p, _SHOULDERS)
    centred = p - hips[..., None, :]
    torso = np.linalg.norm((shoulders - hips)[..., :2], axis=-1)
    farthest = np.linalg.norm(centred[..., :2], axis=-1).max(axis=-1)
    size = np.maximum(torso * TORSO_MULTIPLIER, farthest)
    size = np.where(size > 0, size, 1.0)
    return centred / size[..., None, None] * EMBEDDING_SCALE


def pose_embedding(landmarks_px: np.ndarray) -> np.ndarray:
    """The (..., 23, 3) embedding of (..., 33, 3) pixel landmarks (x, y, z with z scaled like x).

    For a :class:`~blazepose.PoseResult` pass ``result.landmarks_px[i]``.
    """
    p = normalize_pose(landmarks_px)
    return np.stack([_point(p, b) - _point(p, a) for a, b in EMBEDDING_PAIRS], axis=-2)


def mirrored(landmarks_px: np.ndarray) -> np.ndarray:
    """The pose seen in a mirror: x negated, each landmark keeping its anatomical name."""
    return np.asarray(landmarks_px, np.float64) * np.array([-1.0, 1.0, 1.0])
