"""The ``accuracy="high"`` mode of :class:`~blazepose.core.estimator.PoseEstimator`.

Photos: the fast pipeline's people first; when fewer than asked were found,
the recall passes (:mod:`blazepose.core.recall`); then every pose refined
(:mod:`blazepose.core.refine`). Video frames: where the detector runs
anyway and finds fewer new people than there are free slots, it also runs
on tiles (small people). What each costs is measured in ``docs/accuracy.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from blazepose.core.detector import PersonDetector
from blazepose.core.landmarker import LandmarkModel, RawPose
from blazepose.core.recall import (
    RecallSettings,
    RegionSet,
    candidate_regions,
    find_more_people,
    pose_region,
    tile_views,
)
from blazepose.core.refine import RefineSettings, refine_pose
from blazepose.core.roi import NormRect


@dataclass(frozen=True)
class HighAccuracySettings:
    """Settings of the high accuracy mode.

    Attributes:
        recall: The extra detector passes on photos.
        refine: The extra landmark runs per pose on photos.
        video_tile_side: In video mode, where the detector runs and the
            whole image leaves slots free, it also runs on tiles of at most
            this many pixels (0: no tiles).
    """

    recall: RecallSettings = field(default_factory=RecallSettings)
    refine: RefineSettings = field(default_factory=RefineSettings)
    video_tile_side: int = 640


def same_pose(a: RawPose, b: RawPose, image_width: int, image_height: int, tolerance: float = 0.1) -> bool:
    """Whether two poses are one person: their body landmarks (face to hips)
    lie, at the median, within ``tolerance`` of the smaller region's side."""
    size = np.array([image_width, image_height])
    gaps = np.linalg.norm((a.landmarks[:25, :2] - b.landmarks[:25, :2]) * size, axis=-1)
    side = min(a.roi.width, b.roi.width) * image_width
    return bool(np.median(gaps) < tolerance * side)


class HighAccuracy:
    """The extra work of the high accuracy mode, on the estimator's two models.

    Args:
        detector: The person detector.
        landmarker: The landmark model.
        settings: What to run.
        overlap_iou: Region IoU from which two poses are the same person.
        with_mask: Whether segmentation masks are wanted.
    """

    def __init__(
        self,
        detector: PersonDetector,
        landmarker: LandmarkModel,
        settings: HighAccuracySettings,
        overlap_iou: float,
        with_mask: bool,
    ) -> None:
        self.detector = detector
        self.landmarker = landmarker
        self.settings = settings
        self.overlap_iou = overlap_iou
        self.with_mask = with_mask

    def image_poses(
        self, image: np.ndarray, candidates: list[NormRect], max_poses: int, min_presence: float, recall: bool
    ) -> list[RawPose]:
        """The poses of one photo: candidates verified, recall passes while
        people are missing (when ``recall``), every pose refined, duplicates dropped."""
        h, w = image.shape[:2]
        found = RegionSet(w, h, self.overlap_iou)
        poses: list[RawPose] = []
        for roi in candidates:
            if len(poses) == max_poses:
                break
            raw = self.landmarker.run(image, roi, min_presence, self.with_mask)
            if raw is not None:
                poses.append(raw)
                found.add(roi, pose_region(raw, w, h))
        if recall and len(poses) < max_poses:
            strict = self.settings.recall.min_presence
            recall_presence = min_presence if strict is None else max(min_presence, strict)

            def verify(roi: NormRect) -> RawPose | None:
                return self.landmarker.run(image, roi, recall_presence, self.with_mask)

            poses += find_more_people(
                self.detector,
                verify,
                image,
                found,
                max_poses - len(poses),
                self.settings.recall,
            )
        mirrored = functools.cache(lambda: np.ascontiguousarray(image[:, ::-1]))

        def run(img: np.ndarray, roi: NormRect) -> RawPose | None:
            return self.landmarker.run(img, roi, 0.0, self.with_mask and img is image)

        refined = [refine_pose(run, image, raw, self.settings.refine, mirrored) for raw in poses]
        kept = RegionSet(w, h, self.overlap_iou)
        out: list[RawPose] = []
        for raw in refined:
            own = pose_region(raw, w, h)
            if not kept.overlaps(own) and not any(same_pose(raw, other, w, h) for other in out):
                kept.add(own)
                out.append(raw)
        return out

    def tile_regions(self, image: np.ndarray, min_score: float) -> Iterator[NormRect]:
        """Regions of the people the detector finds on the image's tiles (video mode)."""
        tiles = tile_views(image, self.settings.recall, self.settings.video_tile_side)
        yield from candidate_regions(self.detector, image, ((view, back, min_score) for view, back in tiles))
