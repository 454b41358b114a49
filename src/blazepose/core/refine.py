"""High accuracy, refinement: the landmark model run several ways on one person.

A pose found from a detection is refined in two steps:

1. A second pass on the region made from the first pass's own alignment
   landmarks (the detector's keypoints are rougher than the landmark model's).
2. Test-time augmentation around that region: the mirrored crop (its left
   and right landmarks swapped back), and small shifts and scales of the
   region. The runs are combined landmark by landmark, each weighted by its
   visibility times the run's pose presence, so a run that sees a joint
   clearly counts more than one that guesses it.

How far the runs disagree (:func:`spread`) tells how sure the model is of
the pose: on crowded photos the poses whose runs disagree are mostly not a
person, or a person's landmarks spread over their neighbours.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from blazepose.core.landmarker import RawPose
from blazepose.core.landmarks import NUM_MODEL_LANDMARKS
from blazepose.core.recall import is_number, pose_region, require
from blazepose.core.roi import NormRect
from blazepose.core.topology import PoseLandmark

# Runs the landmark model on (image, region) and returns the pose, or None when absent.
RunLandmarks = Callable[[np.ndarray, NormRect], RawPose | None]


def _mirror_order() -> np.ndarray:
    order = np.arange(NUM_MODEL_LANDMARKS)
    names = {lm.name: int(lm) for lm in PoseLandmark}
    for name, index in names.items():
        if "LEFT" in name:
            order[index] = names[name.replace("LEFT", "RIGHT")]
            order[names[name.replace("LEFT", "RIGHT")]] = index
    return order


# Row i of a mirrored pose is row MIRROR_ORDER[i] seen in the mirrored image:
# left and right swapped; the face-less points (nose, auxiliary points) stay.
MIRROR_ORDER = _mirror_order()


@dataclass(frozen=True)
class RefineSettings:
    """Which runs the refinement makes.

    Attributes:
        second_pass: Run again on the region from the first pass's landmarks.
        mirror: Add the mirrored crop.
        shift: Shift the region by this fraction of its size, along both
            diagonals (0: no shifted runs).
        scales: Extra runs with the region scaled by these factors.
    """

    second_pass: bool = True
    mirror: bool = True
    shift: float = 0.0
    scales: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("second_pass", "mirror"):
            require(self, name, isinstance(getattr(self, name), bool), "True or False")
        require(self, "shift", is_number(self.shift) and 0 <= self.shift < 1, "a fraction of the region in [0, 1)")
        scales = self.scales
        require(
            self, "scales", isinstance(scales, tuple) and all(is_number(k) and 0 < k < math.inf for k in scales),
            "a tuple of finite factors > 0",
        )  # fmt: skip

    @property
    def runs(self) -> int:
        """Landmark model runs per pose, the first pass included."""
        return 1 + self.second_pass + self.mirror + 2 * (self.shift > 0) + len(self.scales)


def mirror_region(roi: NormRect) -> NormRect:
    """The same region in the image mirrored left to right."""
    return roi._replace(x_center=1.0 - roi.x_center, rotation=-roi.rotation)


def unmirror_pose(raw: RawPose, roi: NormRect) -> RawPose:
    """A pose found in the mirrored image, in the original image: x mirrored
    back (world x negated) and left and right landmarks swapped."""
    landmarks = raw.landmarks[MIRROR_ORDER].copy()
    landmarks[:, 0] = 1.0 - landmarks[:, 0]
    world = raw.world[MIRROR_ORDER].copy()
    world[:, 0] = -world[:, 0]
    return RawPose(landmarks, world, raw.score, roi, raw.crop, None)


def combine(poses: list[RawPose], base: RawPose) -> RawPose:
    """Landmark-by-landmark weighted mean of several runs on one person.

    Positions (image and world) are weighted by each run's landmark
    visibility times its pose score; visibility and presence are averaged.
    The score, region, crop and mask are ``base``'s.
    """
    lm = np.stack([p.landmarks for p in poses]).astype(np.float64)  # (R, 39, 5)
    world = np.stack([p.world for p in poses]).astype(np.float64)  # (R, 39, 3)
    scores = np.array([p.score for p in poses])[:, None]
    weights = np.maximum(lm[:, :, 3] * scores, 1e-6)[:, :, None]  # (R, 39, 1)
    out = np.empty((NUM_MODEL_LANDMARKS, 5))
    out[:, :3] = (lm[:, :, :3] * weights).sum(0) / weights.sum(0)
    out[:, 3:] = lm[:, :, 3:].mean(0)
    mean_world = (world * weights).sum(0) / weights.sum(0)
    return RawPose(
        out.astype(np.float32), mean_world.astype(np.float32), base.score, base.roi, base.crop, base.mask_logits
    )


def spread(poses: list[RawPose], roi: NormRect) -> float:
    """How far several runs on one person disagree: the median over the body
    landmarks (face to hips) of the farthest run's distance from their mean,
    as a fraction of the region's width (0 for a single run)."""
    body = np.stack([p.landmarks[:25, :2] for p in poses]).astype(np.float64)  # (R, 25, 2)
    farthest = np.linalg.norm(body - body.mean(0), axis=-1).max(0)
    return float(np.median(farthest)) / max(roi.width, 1e-9)


def augmented_regions(roi: NormRect, settings: RefineSettings) -> list[NormRect]:
    """The shifted and scaled copies of a region (the mirrored run is separate)."""
    out = []
    if settings.shift > 0:
        dx, dy = settings.shift * roi.width, settings.shift * roi.height
        out += [roi._replace(x_center=roi.x_center + s * dx, y_center=roi.y_center + s * dy) for s in (1, -1)]
    out += [roi._replace(width=roi.width * k, height=roi.height * k) for k in settings.scales]
    return out


def refine_pose(
    run: RunLandmarks,
    image: np.ndarray,
    first: RawPose,
    settings: RefineSettings,
    mirrored_image: Callable[[], np.ndarray],
) -> tuple[RawPose, float]:
    """Refines one pose (see the module's description).

    Args:
        run: The landmark model, with no presence threshold (it returns None
            only when the region is unusable).
        image: RGB uint8.
        first: The pose from the first pass.
        settings: Which runs to make.
        mirrored_image: Gives the image mirrored left to right (made once by
            the caller and shared between poses).

    Returns:
        The combined pose (its score, region and mask are the best-scoring
        of the first two passes'), and the runs' :func:`spread`.
    """
    h, w = image.shape[:2]
    base = first
    if settings.second_pass:
        second = run(image, pose_region(first, w, h))
        if second is not None and second.score >= first.score:
            base = second
    runs = [first] if base is first else [first, base]
    if settings.mirror:
        flipped_roi = mirror_region(base.roi)
        mirror = run(mirrored_image(), flipped_roi)
        if mirror is not None:
            runs.append(unmirror_pose(mirror, base.roi))
    for roi in augmented_regions(base.roi, settings):
        extra = run(image, roi)
        if extra is not None:
            runs.append(extra)
    return combine(runs, base), spread(runs, base.roi)
