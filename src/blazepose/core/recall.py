"""High accuracy, recall: looking again for the people the detector missed.

MediaPipe's person detector keys on an upright face at a size it knows: it
misses people upside down or lying, seen from behind, or small in a large
image. The landmark model itself finds them well once given a region, so
this module proposes more regions and lets the landmark model's pose
presence score decide:

- the detector again on the whole image with a lower score threshold;
- on copies of the image turned by 180, 90 and 270 degrees and mirrored
  (detections are mapped back to the original image, so a person found
  upside down gets a region turned upside down);
- on overlapping tiles, each upscaled to the detector's input, for people
  too small for the whole-image pass.

A candidate region whose pose presence is below the threshold is dropped, and
one that overlaps a person already found (rotated region IoU) is the same
person. The passes run lazily, cheapest first, and stop as soon as enough
people are found.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from blazepose.core.detector import PersonDetector
from blazepose.core.landmarker import RawPose
from blazepose.core.landmarks import AUX_SLICE
from blazepose.core.roi import NormRect, rect_iou, roi_from_points

# Maps (N, 2) normalized coordinates of a transformed view back to the original image.
ToOriginal = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class RecallSettings:
    """What the recall passes try.

    Attributes:
        min_detection_score: Detector threshold of the extra whole-image
            passes while nobody has been found in the image (the landmark
            model's presence score verifies every candidate).
        min_presence: Pose presence a candidate of these passes must reach
            (None: the estimator's ``min_presence_confidence``).
        quarter_turns: Turned copies to try, in quarter turns counterclockwise,
            in this order.
        mirror: Also try the mirrored image.
        tile_side: Longest tile side in pixels: an image larger than that
            is cut into as few overlapping tiles as keep each tile within it,
            and each is upscaled to the detector's input as a whole image
            is (0: no tiles).
        tile_overlap: Overlap of neighbouring tiles, as a fraction of a tile.
        tile_min_detection_score: Detector threshold on tiles (there are
            many, each a chance of a false detection), and of every pass
            once someone has been found.
    """

    min_detection_score: float = 0.3
    min_presence: float | None = None
    quarter_turns: tuple[int, ...] = (2, 1, 3)
    mirror: bool = True
    tile_side: int = 320
    tile_overlap: float = 0.25
    tile_min_detection_score: float = 0.5


def turned(image: np.ndarray, quarter_turns: int) -> tuple[np.ndarray, ToOriginal]:
    """The image turned by ``quarter_turns`` x 90 degrees counterclockwise (as
    ``np.rot90``), and the map from its normalized coordinates to the original's."""
    k = quarter_turns % 4
    view = np.ascontiguousarray(np.rot90(image, k))

    def back(uv: np.ndarray) -> np.ndarray:
        u, v = uv[..., 0], uv[..., 1]
        x, y = {0: (u, v), 1: (1 - v, u), 2: (1 - u, 1 - v), 3: (v, 1 - u)}[k]
        return np.stack([x, y], axis=-1)

    return view, back


def mirrored(image: np.ndarray) -> tuple[np.ndarray, ToOriginal]:
    """The image mirrored left to right, and the map back."""

    def back(uv: np.ndarray) -> np.ndarray:
        return np.stack([1 - uv[..., 0], uv[..., 1]], axis=-1)

    return np.ascontiguousarray(image[:, ::-1]), back


def tiles(image: np.ndarray, columns: int, rows: int, overlap: float) -> Iterator[tuple[np.ndarray, ToOriginal]]:
    """``columns x rows`` overlapping tiles covering the image, each with its map back."""
    h, w = image.shape[:2]
    # n tiles of side s overlapping by o * s cover n * s - (n - 1) * o * s.
    tile_w = w / (columns - (columns - 1) * overlap)
    tile_h = h / (rows - (rows - 1) * overlap)
    for row in range(rows):
        for col in range(columns):
            x0 = round(col * tile_w * (1 - overlap))
            y0 = round(row * tile_h * (1 - overlap))
            x1, y1 = min(w, round(x0 + tile_w)), min(h, round(y0 + tile_h))

            def back(uv: np.ndarray, x0: int = x0, y0: int = y0, tw: int = x1 - x0, th: int = y1 - y0) -> np.ndarray:
                return np.stack([(x0 + uv[..., 0] * tw) / w, (y0 + uv[..., 1] * th) / h], axis=-1)

            yield np.ascontiguousarray(image[y0:y1, x0:x1]), back


def tile_count(side: int, tile_side: int, overlap: float) -> int:
    """Tiles needed along a side so that none is longer than ``tile_side`` pixels."""
    return max(1, math.ceil((side / tile_side - overlap) / (1 - overlap) - 1e-9))


def tile_views(image: np.ndarray, settings: RecallSettings, tile_side: int) -> Iterator[tuple[np.ndarray, ToOriginal]]:
    """Tiles of at most ``tile_side`` pixels (none when the image is no larger than one tile, or for 0)."""
    h, w = image.shape[:2]
    if tile_side <= 0:
        return
    columns = tile_count(w, tile_side, settings.tile_overlap)
    rows = tile_count(h, tile_side, settings.tile_overlap)
    if columns * rows > 1:
        yield from tiles(image, columns, rows, settings.tile_overlap)


def views(
    image: np.ndarray, settings: RecallSettings, nobody_found: bool
) -> Iterator[tuple[np.ndarray, ToOriginal, float]]:
    """Every view of the recall passes with its detector threshold, in the
    order they are tried (made lazily)."""
    low = settings.min_detection_score if nobody_found else settings.tile_min_detection_score
    for k in (0, *settings.quarter_turns):
        yield (*turned(image, k), low)
    if settings.mirror:
        yield (*mirrored(image), low)
    for view, back in tile_views(image, settings, settings.tile_side):
        yield view, back, settings.tile_min_detection_score


def candidate_regions(
    detector: PersonDetector, image: np.ndarray, view_list: Iterator[tuple[np.ndarray, ToOriginal, float]]
) -> Iterator[NormRect]:
    """Regions of the people the detector finds in each view (with its
    threshold), view by view, in the original image's coordinates (best first
    within a view)."""
    h, w = image.shape[:2]
    for view, back, min_score in view_list:
        dets = detector.detect(view, min_score)
        for kps in dets.keypoints:
            yield roi_from_points(back(kps[:2].astype(np.float64)), w, h)


class RegionSet:
    """Regions of the people found so far, to tell a new person from one already found."""

    def __init__(self, image_width: int, image_height: int, overlap_iou: float) -> None:
        self.size = (image_width, image_height)
        self.overlap_iou = overlap_iou
        self.regions: list[NormRect] = []

    def overlaps(self, roi: NormRect) -> bool:
        return any(rect_iou(roi, other, *self.size) >= self.overlap_iou for other in self.regions)

    def add(self, *rois: NormRect) -> None:
        self.regions.extend(rois)


def same_region(a: NormRect, b: NormRect, image_width: int, image_height: int, min_iou: float = 0.7) -> bool:
    """Whether two candidate regions are the same crop: overlapping and turned alike
    (the same place turned upside down is another candidate)."""
    turn = abs((a.rotation - b.rotation + np.pi) % (2 * np.pi) - np.pi)
    return turn < np.pi / 4 and rect_iou(a, b, image_width, image_height) >= min_iou


def pose_region(raw: RawPose, image_width: int, image_height: int) -> NormRect:
    """The region made from a pose's own alignment landmarks."""
    return roi_from_points(raw.landmarks[AUX_SLICE, :2], image_width, image_height)


def find_more_people(
    detector: PersonDetector,
    verify: Callable[[NormRect], RawPose | None],
    image: np.ndarray,
    found: RegionSet,
    wanted: int,
    settings: RecallSettings,
) -> list[RawPose]:
    """Up to ``wanted`` people not yet in ``found``, from the recall passes.

    Args:
        detector: The person detector.
        verify: Runs the landmark model on a region; None when its presence
            score is too low.
        image: RGB uint8.
        found: Regions of the people already found; the new ones are added.
        wanted: How many more people to look for.
        settings: The passes to run.

    Returns:
        The new poses, in the order found.
    """
    h, w = image.shape[:2]
    tried: list[NormRect] = []
    new: list[RawPose] = []
    if wanted <= 0:
        return new
    for roi in candidate_regions(detector, image, views(image, settings, not found.regions)):
        if found.overlaps(roi) or any(same_region(roi, t, w, h) for t in tried):
            continue  # a person already found, or a candidate already rejected
        tried.append(roi)
        raw = verify(roi)
        if raw is None:
            continue
        own = pose_region(raw, w, h)
        if found.overlaps(own):
            continue
        found.add(roi, own)
        new.append(raw)
        if len(new) == wanted:
            break
    return new
