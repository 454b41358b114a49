"""Joint angles (elbows, shoulders, hips, knees) from 2D or world landmarks."""

from __future__ import annotations

import numpy as np

from blazepose.core.results import PoseResult
from blazepose.core.topology import PoseLandmark as L

# Each angle is measured at the middle landmark of its triple, in degrees (180 = straight).
JOINT_TRIPLES: dict[str, tuple[int, int, int]] = {
    "left_elbow": (L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST),
    "right_elbow": (L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST),
    "left_shoulder": (L.LEFT_ELBOW, L.LEFT_SHOULDER, L.LEFT_HIP),
    "right_shoulder": (L.RIGHT_ELBOW, L.RIGHT_SHOULDER, L.RIGHT_HIP),
    "left_hip": (L.LEFT_SHOULDER, L.LEFT_HIP, L.LEFT_KNEE),
    "right_hip": (L.RIGHT_SHOULDER, L.RIGHT_HIP, L.RIGHT_KNEE),
    "left_knee": (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE),
    "right_knee": (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE),
}
JOINT_NAMES: tuple[str, ...] = tuple(JOINT_TRIPLES)


def angle_at(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The angle ABC in degrees (0 to 180), over any leading axes.

    Args:
        a, b, c: (..., D) points, D = 2 or 3. A zero-length arm gives NaN.
    """
    u = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    v = np.asarray(c, np.float64) - np.asarray(b, np.float64)
    norms = np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.sum(u * v, axis=-1) / norms
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def joint_angles(points: np.ndarray, image_size: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """The eight joint angles of one or many poses.

    Args:
        points: (..., 33, 2 or 3) landmarks. Normalized image landmarks need
            ``image_size`` so that x and y are in the same unit (only x and y
            are used then: a 2D angle in the picture). World landmarks (metres)
            are used in 3D as they are, with ``image_size=None``.
        image_size: ``(height, width)`` for normalized landmarks.

    Returns:
        Joint name -> (...) angles in degrees.
    """
    p = np.asarray(points, np.float64)
    if p.ndim < 2 or p.shape[-2] != 33 or p.shape[-1] not in (2, 3):
        raise ValueError(f"expected landmarks of shape (..., 33, 2 or 3), got {p.shape}")
    if image_size is not None:
        h, w = image_size
        p = p[..., :2] * np.array([w, h], np.float64)
    return {name: angle_at(p[..., i, :], p[..., j, :], p[..., k, :]) for name, (i, j, k) in JOINT_TRIPLES.items()}


def pose_result(result: object) -> PoseResult:
    """The :class:`~blazepose.PoseResult` of a ``PoseEstimator`` result or of a ``PoseLandmarkerResult``.

    Raises:
        TypeError: anything else (the legacy ``solutions.pose`` results hold no pixel landmarks).
    """
    inner = getattr(result, "result", result)  # a PoseLandmarkerResult holds its PoseResult
    if not isinstance(inner, PoseResult):
        raise TypeError(
            "expected a PoseResult (PoseEstimator) or a PoseLandmarkerResult (PoseLandmarker), got "
            f"{type(result).__name__}; the legacy solutions.pose results hold no pixel landmarks"
        )
    return inner


def result_angles(result, pose: int = 0, world: bool = False) -> dict[str, float]:
    """The joint angles of one pose of a :class:`~blazepose.PoseResult` (2D in the image, or 3D world).

    Raises:
        TypeError: ``result`` is not a PoseResult or PoseLandmarkerResult, or ``pose`` not an int.
        ValueError: the result has no pose number ``pose``.
    """
    result = pose_result(result)
    if isinstance(pose, bool) or not isinstance(pose, (int, np.integer)):
        raise TypeError(f"expected a pose index (int), got {pose!r}")
    if not 0 <= pose < len(result):
        raise ValueError(f"expected a pose index in 0..{len(result) - 1}, got {pose} (the result has {len(result)})")
    if world:
        angles = joint_angles(result.world_landmarks[pose])
    else:
        angles = joint_angles(result.landmarks[pose], result.image_size)
    return {name: float(value) for name, value in angles.items()}
