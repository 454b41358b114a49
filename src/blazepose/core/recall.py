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

A candidate region whose pose presence is below the threshold is dropped.
A candidate nearly the same crop as a person already found (rotated region
IoU >= ``verify_iou``) is not run at all; any other is, and its pose is the
same person as one found when their body landmarks coincide (people in a
crowd overlap: their regions do too, their landmarks do not). The passes
run lazily, cheapest first, and stop as soon as enough people are found.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from blazepose.core.detector import PersonDetector
from blazepose.core.landmarker import RawPose
from blazepose.core.landmarks import AUX_SLICE
from blazepose.core.roi import NormRect, rect_iou, roi_from_points
from blazepose.core.similarity import pose_oks

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
            once someone has been found in the image (None: the estimator's
            ``min_presence_confidence``, which applies before, and is the
            least).
        quarter_turns: Turned copies to try, in quarter turns counterclockwise,
            in this order.
        mirror: Also try the mirrored image.
        tile_side: Longest tile side in pixels: an image larger than that
            is cut into as few overlapping tiles as keep each tile within it,
            and each is upscaled to the detector's input as a whole image
            is (0: no tiles).
        small_tile_sides: Further, smaller tile sides tried after those
            tiles, in this order, for people smaller still.
        small_tile_score: The score of a pose first found on those smaller
            tiles is multiplied by this (they find people the larger tiles
            miss, and more false poses: on the development photos a quarter
            as many of their poses were a person), so that such poses rank
            after the surer ones; 1: no change.
        tile_overlap: Overlap of neighbouring tiles, as a fraction of a tile.
        tile_min_detection_score: Detector threshold on tiles (there are
            many, each a chance of a false detection), and of every pass
            once someone has been found.
        verify_iou: A candidate whose region overlaps a person already
            found by at least this rotated-region IoU is that person and is
            not run; below it, the landmark model decides (None: the
            estimator's ``overlap_iou``).
        window_sides: Last, without the detector: square windows of these
            sides (fractions of the image's shorter side) slid over the
            image (:func:`window_regions`), each given to the landmark
            model as a region; () for none.
        window_stride: Step between windows, as a fraction of their side.
        window_min_presence: Pose presence a window's pose must reach, on
            the window and again on the region from its own landmarks.
        same_person_oks: A candidate's pose is a person already found when
            their body landmarks coincide and their OKS
            (:func:`~blazepose.core.similarity.pose_oks`) reaches this (None:
            the landmarks alone). Neighbours in a crowd can have landmarks that
            coincide at the median (the model spreads one body over two people)
            while their COCO keypoints do not.
    """

    min_detection_score: float = 0.3
    min_presence: float | None = 0.8
    quarter_turns: tuple[int, ...] = (2, 1, 3)
    mirror: bool = True
    tile_side: int = 320
    small_tile_sides: tuple[int, ...] = (240,)
    small_tile_score: float = 0.25
    tile_overlap: float = 0.25
    tile_min_detection_score: float = 0.5
    verify_iou: float | None = 0.8
    window_sides: tuple[float, ...] = ()
    window_stride: float = 1 / 3
    window_min_presence: float = 0.9
    same_person_oks: float | None = 0.5

    def __post_init__(self) -> None:
        # Checked here, not when the first photo's passes run into them.
        for name in ("min_detection_score", "tile_min_detection_score", "window_min_presence"):
            require(self, name, is_fraction(getattr(self, name)), "a number in [0, 1]")
        require(
            self,
            "min_presence",
            self.min_presence is None or is_fraction(self.min_presence),
            "None or a number in [0, 1]",
        )
        turns = self.quarter_turns
        require(
            self, "quarter_turns", isinstance(turns, tuple) and all(is_int(k) and k in (1, 2, 3) for k in turns),
            "a tuple of quarter turns 1, 2 or 3 (the unturned image is always tried)",
        )  # fmt: skip
        require(self, "mirror", isinstance(self.mirror, bool), "True or False")
        require(self, "tile_side", is_int(self.tile_side) and self.tile_side >= 0, "a whole number of pixels >= 0")
        sides = self.small_tile_sides
        require(
            self, "small_tile_sides", isinstance(sides, tuple) and all(is_int(s) and s > 0 for s in sides),
            "a tuple of whole numbers of pixels > 0",
        )  # fmt: skip
        require(self, "small_tile_score", is_fraction(self.small_tile_score), "a number in [0, 1]")
        overlap = self.tile_overlap
        require(self, "tile_overlap", is_number(overlap) and 0 <= overlap < 1, "a number in [0, 1)")
        iou = self.verify_iou
        require(self, "verify_iou", iou is None or (is_number(iou) and 0 < iou <= 1), "None or a number in (0, 1]")
        windows = self.window_sides
        require(
            self, "window_sides", isinstance(windows, tuple) and all(is_number(s) and 0 < s <= 1 for s in windows),
            "a tuple of fractions of the image's shorter side in (0, 1]",
        )  # fmt: skip
        oks = self.same_person_oks
        require(self, "same_person_oks", oks is None or is_fraction(oks), "None or a number in [0, 1]")
        stride = self.window_stride
        require(self, "window_stride", is_number(stride) and 0 < stride < math.inf, "a finite number > 0")


def is_number(value: object) -> bool:
    """A real number, not a bool nor NaN."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and not math.isnan(value)
    )


def is_int(value: object) -> bool:
    """A whole number (an int, or a numpy integer), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_fraction(value: object) -> bool:
    """A number in [0, 1]."""
    return is_number(value) and 0 <= value <= 1  # type: ignore[operator]


def require(settings: object, name: str, ok: bool, expected: str) -> None:
    """Raises a ValueError naming the setting, what was expected and what came, unless ``ok``."""
    if not ok:
        raise ValueError(f"{type(settings).__name__}.{name} must be {expected}, got {getattr(settings, name)!r}")


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


class View(NamedTuple):
    """One view the detector runs on in the recall passes."""

    image: np.ndarray
    back: ToOriginal  # its normalized coordinates to the original image's
    min_score: float  # the detector's threshold on it
    score_factor: float = 1.0  # multiplies the score of the poses first found on it


def views(image: np.ndarray, settings: RecallSettings, nobody_found: bool) -> Iterator[View]:
    """Every view of the recall passes with its detector threshold, in the
    order they are tried (made lazily)."""
    low = settings.min_detection_score if nobody_found else settings.tile_min_detection_score
    for k in (0, *settings.quarter_turns):
        yield View(*turned(image, k), low)
    if settings.mirror:
        yield View(*mirrored(image), low)
    for view, back in tile_views(image, settings, settings.tile_side):
        yield View(view, back, settings.tile_min_detection_score)
    for side in settings.small_tile_sides:
        for view, back in tile_views(image, settings, side):
            yield View(view, back, settings.tile_min_detection_score, settings.small_tile_score)


def window_regions(image_width: int, image_height: int, side: float, stride: float) -> list[NormRect]:
    """Upright square regions of ``side`` times the image's shorter side,
    slid over the image ``stride`` of their side apart (evenly spread so that
    the first and last touch the image's edges), row by row from the top left.

    Args:
        image_width: Pixels.
        image_height: Pixels.
        side: Window side as a fraction of ``min(image_width, image_height)``, in (0, 1].
        stride: Largest step between neighbouring windows as a fraction of their side, > 0.
    """
    if not 0 < side <= 1 or stride <= 0:
        raise ValueError(f"window side must be in (0, 1] and stride > 0, got side={side}, stride={stride}")
    pixels = side * min(image_width, image_height)

    def centres(length: int) -> np.ndarray:
        steps = math.ceil((length - pixels) / (stride * pixels) - 1e-9)
        return np.linspace(pixels / 2, length - pixels / 2, steps + 1)

    return [
        NormRect(float(x / image_width), float(y / image_height), pixels / image_width, pixels / image_height, 0.0)
        for y in centres(image_height)
        for x in centres(image_width)
    ]


def candidate_regions(
    detector: PersonDetector, image: np.ndarray, view_list: Iterable[tuple[np.ndarray, ToOriginal, float]]
) -> Iterator[NormRect]:
    """Regions of the people the detector finds in each view (with its
    threshold), view by view, in the original image's coordinates (best first
    within a view)."""
    h, w = image.shape[:2]
    for view, back, min_score in view_list:
        dets = detector.detect(view, min_score)
        for kps in dets.keypoints:
            yield roi_from_points(back(kps[:2].astype(np.float64)), w, h)


def same_pose(
    a: RawPose, b: RawPose, image_width: int, image_height: int, tolerance: float = 0.1, min_oks: float | None = None
) -> bool:
    """Whether two poses are one person: their body landmarks (face to hips)
    lie, at the median, within ``tolerance`` of the smaller region's side, and
    (unless ``min_oks`` is None) their 17 COCO keypoints' OKS
    (:func:`~blazepose.core.similarity.pose_oks`) is at least ``min_oks``."""
    size = np.array([image_width, image_height])
    gaps = np.linalg.norm((a.landmarks[:25, :2] - b.landmarks[:25, :2]) * size, axis=-1)
    side = min(a.roi.width, b.roi.width) * image_width
    if not np.median(gaps) < tolerance * side:
        return False
    return min_oks is None or pose_oks(a.landmarks[:33, :2] * size, b.landmarks[:33, :2] * size) >= min_oks


class PeopleFound:
    """The people found so far in one image, to tell a new person from one already found.

    Args:
        image_width: Pixels.
        image_height: Pixels.
        overlap_iou: Rotated-region IoU from which a region is a person
            already found.
        same_person_oks: A pose is a person already found only when, besides
            their landmarks coinciding, their OKS reaches this (None: the
            landmarks alone; see :func:`same_pose`).
    """

    def __init__(
        self, image_width: int, image_height: int, overlap_iou: float, same_person_oks: float | None = None
    ) -> None:
        self.size = (image_width, image_height)
        self.overlap_iou = overlap_iou
        self.same_person_oks = same_person_oks
        self.regions: list[NormRect] = []
        self.poses: list[RawPose] = []

    def overlaps(self, roi: NormRect, min_iou: float | None = None) -> bool:
        """Whether ``roi`` overlaps a found person's region by ``min_iou`` (None: ``overlap_iou``)."""
        iou = self.overlap_iou if min_iou is None else min_iou
        return any(rect_iou(roi, other, *self.size) >= iou for other in self.regions)

    def has(self, raw: RawPose) -> bool:
        """Whether ``raw`` is a person already found (their body landmarks coincide)."""
        return any(same_pose(raw, other, *self.size, min_oks=self.same_person_oks) for other in self.poses)

    def add(self, raw: RawPose, *rois: NormRect) -> None:
        """Adds a person: the pose and the regions it was found from."""
        self.poses.append(raw)
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
    found: PeopleFound,
    wanted: int,
    settings: RecallSettings,
    run_window: Callable[[NormRect, float], RawPose | None] | None = None,
) -> list[tuple[RawPose, float]]:
    """Up to ``wanted`` people not yet in ``found``, from the recall passes.

    Args:
        detector: The person detector.
        verify: Runs the landmark model on a region; None when its presence
            score is too low.
        image: RGB uint8.
        found: The people already found; the new ones are added.
        wanted: How many more people to look for.
        settings: The passes to run.
        run_window: Runs the landmark model on a region with a presence
            threshold (None when below it); needed for the sliding windows
            (``settings.window_sides``), which are skipped without it.

    Returns:
        The new poses, in the order found, each with the factor its score
        is to be multiplied by (``settings.small_tile_score`` for a pose
        first found on the smaller tiles, else 1).
    """
    h, w = image.shape[:2]
    tried: list[NormRect] = []
    new: list[tuple[RawPose, float]] = []
    if wanted <= 0:
        return new
    for view in views(image, settings, not found.regions):
        for roi in candidate_regions(detector, image, [(view.image, view.back, view.min_score)]):
            if found.overlaps(roi, settings.verify_iou) or any(same_region(roi, t, w, h) for t in tried):
                continue  # a person already found, or a candidate already tried
            tried.append(roi)
            raw = verify(roi)
            if raw is None or found.has(raw):
                continue
            found.add(raw, roi, pose_region(raw, w, h))
            new.append((raw, view.score_factor))
            if len(new) == wanted:
                return new
    if run_window is not None:
        windows = people_in_windows(run_window, w, h, found, wanted - len(new), settings)
        new += [(raw, 1.0) for raw in windows]
    return new


def verified_window(
    run_window: Callable[[NormRect, float], RawPose | None],
    window: NormRect,
    image_width: int,
    image_height: int,
    found: PeopleFound,
    settings: RecallSettings,
) -> tuple[RawPose, NormRect] | None:
    """A new person in ``window``: its pose passes the presence threshold on the
    window and again on the region from its own landmarks, and is no one found."""
    presence = settings.window_min_presence
    first = run_window(window, presence)
    if first is None:
        return None
    own = pose_region(first, image_width, image_height)
    if found.overlaps(own, settings.verify_iou):
        return None
    raw = run_window(own, presence)
    if raw is None or found.has(raw):
        return None
    return raw, own


def people_in_windows(
    run_window: Callable[[NormRect, float], RawPose | None],
    image_width: int,
    image_height: int,
    found: PeopleFound,
    wanted: int,
    settings: RecallSettings,
) -> list[RawPose]:
    """Up to ``wanted`` people not yet in ``found`` from sliding windows
    (largest first), without the detector: the landmark model, trained on
    crops around a person, says with its presence score whether a window
    holds one; a window that does is run again on the region from its pose's
    own alignment landmarks (centred on the hips, scaled to the body), which
    must pass the same threshold and not coincide with a person found."""
    new: list[RawPose] = []
    for side in settings.window_sides:
        for window in window_regions(image_width, image_height, side, settings.window_stride):
            if len(new) >= wanted:
                return new
            if found.overlaps(window, settings.verify_iou):
                continue
            hit = verified_window(run_window, window, image_width, image_height, found, settings)
            if hit is not None:
                found.add(hit[0], window, hit[1])
                new.append(hit[0])
    return new
