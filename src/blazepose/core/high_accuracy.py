"""The ``accuracy="high"`` mode of :class:`~blazepose.core.estimator.PoseEstimator`.

Photos: the fast pipeline's people first; when fewer than asked were found,
the recall passes (:mod:`blazepose.core.recall`); then every pose refined
(:mod:`blazepose.core.refine`). Video frames: where the detector runs
anyway and finds fewer new people than there are free slots, it also runs
on tiles (small people). What each costs is measured in ``docs/accuracy.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from blazepose.core.detector import PersonDetector
from blazepose.core.landmarker import LandmarkModel, RawPose
from blazepose.core.recall import (
    PeopleFound,
    RecallSettings,
    candidate_regions,
    find_more_people,
    is_int,
    is_number,
    pose_region,
    require,
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
        duplicate_iou: After refinement, a pose whose region overlaps an
            earlier pose's by at least this IoU, or whose body landmarks
            coincide with its, is dropped (None: the estimator's
            ``overlap_iou``).
        max_spread: A refined pose whose runs disagree by more than this
            (:func:`~blazepose.core.refine.spread`, a fraction of its
            region's width) is dropped, unless it is the photo's most
            consistent pose (a photo where someone was found keeps one).
        score_spread: A kept pose's score is its presence times
            :func:`consistency` of its runs' spread with this scale: 1 when
            they agree exactly, 0.5 at half this spread (the default is twice
            ``max_spread``, so a pose at the limit scores half); None: the
            presence alone.
    """

    recall: RecallSettings = field(default_factory=RecallSettings)
    refine: RefineSettings = field(default_factory=RefineSettings)
    video_tile_side: int = 640
    duplicate_iou: float | None = 0.8
    max_spread: float = 0.03
    score_spread: float | None = 0.06

    def __post_init__(self) -> None:
        require(self, "recall", isinstance(self.recall, RecallSettings), "a RecallSettings")
        require(self, "refine", isinstance(self.refine, RefineSettings), "a RefineSettings")
        side = self.video_tile_side
        require(self, "video_tile_side", is_int(side) and side >= 0, "a whole number of pixels >= 0")
        iou = self.duplicate_iou
        require(self, "duplicate_iou", iou is None or (is_number(iou) and 0 < iou <= 1), "None or a number in (0, 1]")
        spread = self.max_spread
        require(self, "max_spread", is_number(spread) and 0 < spread < math.inf, "a finite number > 0")
        scale = self.score_spread
        if scale is not None and not (isinstance(scale, (int, float)) and np.isfinite(scale) and scale > 0):
            # 0 would divide by zero on the first photo; below 0 scores would exceed the presence.
            raise ValueError(f"expected score_spread None or a finite number > 0, got {scale!r}")


def consistency(spread: float, scale: float) -> float:
    """How much a pose's refinement runs agree, as a factor of its score:
    ``1 - spread / scale``, at least 0.01 (so that scores still rank)."""
    return max(0.01, 1.0 - spread / scale)


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
        people are missing (when ``recall``), every pose refined, duplicates and
        poses whose refinement runs disagree dropped; each pose's score is its
        presence times how well its runs agree (``score_spread``)."""
        h, w = image.shape[:2]
        refined = self.refined_poses(image, candidates, max_poses, min_presence, recall)
        return select_poses(refined, w, h, self.settings, self.overlap_iou)

    def refined_poses(
        self, image: np.ndarray, candidates: list[NormRect], max_poses: int, min_presence: float, recall: bool
    ) -> list[RefinedPose]:
        """Every pose found in one photo (as :meth:`image_poses`), refined, with
        its runs' spread and its score factor, before :func:`select_poses`."""
        h, w = image.shape[:2]
        found = PeopleFound(w, h, self.overlap_iou, self.settings.recall.same_person_oks)
        poses: list[tuple[RawPose, float]] = []
        for roi in candidates:
            if len(poses) == max_poses:
                break
            raw = self.landmarker.run(image, roi, min_presence, self.with_mask)
            if raw is not None:
                poses.append((raw, 1.0))
                found.add(raw, roi, pose_region(raw, w, h))
        if recall and len(poses) < max_poses:
            strict = self.settings.recall.min_presence
            recall_presence = min_presence if strict is None else max(min_presence, strict)

            def verify(roi: NormRect) -> RawPose | None:
                # Stricter once someone is found (a crowd: many candidates, many chances of a false one).
                presence = recall_presence if found.poses else min_presence
                return self.landmarker.run(image, roi, presence, self.with_mask)

            poses += find_more_people(
                self.detector,
                verify,
                image,
                found,
                max_poses - len(poses),
                self.settings.recall,
                lambda roi, presence: self.landmarker.run(image, roi, presence, self.with_mask),
            )
        mirrored = functools.cache(lambda: np.ascontiguousarray(image[:, ::-1]))

        def run(img: np.ndarray, roi: NormRect) -> RawPose | None:
            return self.landmarker.run(img, roi, 0.0, self.with_mask and img is image)

        return [
            RefinedPose(*refine_pose(run, image, raw, self.settings.refine, mirrored), factor) for raw, factor in poses
        ]

    def tile_regions(self, image: np.ndarray, min_score: float) -> Iterator[NormRect]:
        """Regions of the people the detector finds on the image's tiles (video mode)."""
        tiles = tile_views(image, self.settings.recall, self.settings.video_tile_side)
        yield from candidate_regions(self.detector, image, ((view, back, min_score) for view, back in tiles))


class RefinedPose(NamedTuple):
    """A refined pose of a photo, before :func:`select_poses`."""

    pose: RawPose
    spread: float  # how far its refinement runs disagree (refine.spread)
    score_factor: float = 1.0  # multiplies its score (the recall pass that found it)


def select_poses(
    refined: list[RefinedPose],
    image_width: int,
    image_height: int,
    settings: HighAccuracySettings,
    overlap_iou: float,
) -> list[RawPose]:
    """The poses kept of a photo's refined poses: those whose runs disagree
    by more than ``max_spread`` dropped (unless the photo's most consistent),
    each scored (presence times ``score_spread``'s consistency times its score
    factor), and of poses that are one person (regions overlapping by
    ``duplicate_iou``, or body landmarks coinciding) the best-scoring kept. The
    kept poses stay in their given order."""
    steadiest = min((r.spread for r in refined), default=0.0)
    refined = [r for r in refined if r.spread <= max(settings.max_spread, steadiest)]
    scale = settings.score_spread
    scored = []
    for raw, spread, factor in refined:
        # Runs that disagree mean the model is unsure: rank such a pose lower.
        agreement = 1.0 if scale is None else consistency(spread, scale)
        scored.append(
            raw if agreement * factor == 1.0 else dataclasses.replace(raw, score=raw.score * agreement * factor)
        )
    duplicate_iou = overlap_iou if settings.duplicate_iou is None else settings.duplicate_iou
    kept = PeopleFound(image_width, image_height, duplicate_iou)
    chosen: list[int] = []
    # Best first (ties in the given order), so that of one person's poses the best-scoring is kept.
    for i in sorted(range(len(scored)), key=lambda i: -scored[i].score):
        own = pose_region(scored[i], image_width, image_height)
        if not kept.overlaps(own) and not kept.has(scored[i]):
            kept.add(scored[i], own)
            chosen.append(i)
    return [scored[i] for i in sorted(chosen)]
