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
        video_tiles: In video mode, run the detector on tiles too when the
            whole-image pass leaves slots free.
        extra_candidates: Photos: verify this many detections beyond
            ``max_poses`` and keep the largest people (the main subjects)
            rather than the detector's best scores (0: the detector's order).
    """

    recall: RecallSettings = field(default_factory=RecallSettings)
    refine: RefineSettings = field(default_factory=RefineSettings)
    video_tiles: bool = True
    extra_candidates: int = 0


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
        extra = self.settings.extra_candidates
        for n, roi in enumerate(candidates):
            if n >= max_poses + extra or (len(poses) == max_poses and not extra):
                break
            raw = self.landmarker.run(image, roi, min_presence, self.with_mask)
            if raw is not None:
                poses.append(raw)
                found.add(roi, pose_region(raw, w, h))
        if recall and len(poses) < max_poses:

            def verify(roi: NormRect) -> RawPose | None:
                return self.landmarker.run(image, roi, min_presence, self.with_mask)

            poses += find_more_people(
                self.detector,
                verify,
                image,
                found,
                max_poses - len(poses),
                self.settings.recall,
            )
        if extra:
            # The main subjects: the largest people in pixels.
            poses = sorted(poses, key=lambda raw: -raw.roi.width * w)[:max_poses]
        mirrored = functools.cache(lambda: np.ascontiguousarray(image[:, ::-1]))

        def run(img: np.ndarray, roi: NormRect) -> RawPose | None:
            return self.landmarker.run(img, roi, 0.0, self.with_mask and img is image)

        refined = [refine_pose(run, image, raw, self.settings.refine, mirrored) for raw in poses]
        kept = RegionSet(w, h, self.overlap_iou)
        out = []
        for raw in refined:
            own = pose_region(raw, w, h)
            if not kept.overlaps(own):
                kept.add(own)
                out.append(raw)
        return out

    def tile_regions(self, image: np.ndarray, min_score: float) -> Iterator[NormRect]:
        """Regions of the people the detector finds on the image's tiles (video mode)."""
        if self.settings.video_tiles:
            yield from candidate_regions(self.detector, image, min_score, tile_views(image, self.settings.recall))
