"""How alike two poses are: COCO's object keypoint similarity (OKS) between predictions.

The 17 COCO keypoints are picked from the 33 pose landmarks and compared with
COCO's per-keypoint falloffs, as the COCO keypoint challenge compares a
prediction with an annotated person. Between two predictions there is no
annotated area: the larger of their keypoint boxes is used.
"""

from __future__ import annotations

import numpy as np

from blazepose.core.topology import PoseLandmark as L

# COCO order: nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles (left before right).
COCO_FROM_POSE = np.array(
    [
        L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.LEFT_EAR, L.RIGHT_EAR, L.LEFT_SHOULDER, L.RIGHT_SHOULDER,
        L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_HIP, L.RIGHT_HIP,
        L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE,
    ]
)  # fmt: skip

# Per-keypoint falloffs of the COCO keypoint challenge (OKS "sigmas").
COCO_SIGMAS = np.array(
    [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
     0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089]
)  # fmt: skip


def pose_oks(a_px: np.ndarray, b_px: np.ndarray) -> float:
    """OKS of two poses' 17 COCO keypoints, all counted, with the larger of
    their keypoint boxes' areas as the scale (symmetric; 1 for equal poses).

    Args:
        a_px: (33, >=2) pose landmarks in pixels.
        b_px: (33, >=2) the other pose's, in pixels.
    """
    a = np.asarray(a_px, np.float64)[COCO_FROM_POSE, :2]
    b = np.asarray(b_px, np.float64)[COCO_FROM_POSE, :2]
    area = max(float(np.prod(k.max(0) - k.min(0))) for k in (a, b)) + np.spacing(1)
    d2 = ((a - b) ** 2).sum(axis=1)
    return float(np.exp(-d2 / ((2 * COCO_SIGMAS) ** 2) / area / 2).mean())
