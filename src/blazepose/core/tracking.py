"""Per-pose state across video frames: the next region and the filters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blazepose.core.filters import (
    AUX_LANDMARK_FILTER,
    IMAGE_LANDMARK_FILTER,
    WORLD_LANDMARK_FILTER,
    LandmarkSmoother,
)
from blazepose.core.landmarker import RawPose
from blazepose.core.landmarks import AUX_SLICE, NUM_LANDMARKS
from blazepose.core.roi import NormRect, object_scale, roi_from_points
from blazepose.core.segmentation import smooth_mask


@dataclass
class SmoothedPose:
    """One pose after the video filters (or unfiltered in image mode)."""

    landmarks: np.ndarray  # (33, 3) normalized
    visibility: np.ndarray  # (33,)
    presence: np.ndarray  # (33,)
    world: np.ndarray  # (33, 3) metres


def pixel_scale(image_width: int, image_height: int) -> np.ndarray:
    """(3,) float32 factors from normalized to pixel landmarks: ``W, H, W``."""
    return np.array([image_width, image_height, image_width], np.float32)


def unsmoothed(raw: RawPose, image_width: int, image_height: int) -> SmoothedPose:
    """A raw pose's 33 output landmarks, unfiltered.

    They take the same float32 round trip through pixels (``x * W / W``) as
    filtered ones, which MediaPipe's landmark smoother makes even when it
    filters nothing.
    """
    lm = raw.landmarks[:NUM_LANDMARKS]
    size = pixel_scale(image_width, image_height)
    return SmoothedPose(
        landmarks=(lm[:, :3].astype(np.float32) * size) / size,
        visibility=np.ascontiguousarray(lm[:, 3]),
        presence=np.ascontiguousarray(lm[:, 4]),
        world=np.ascontiguousarray(raw.world[:NUM_LANDMARKS]),
    )


class PoseTrack:
    """A pose followed from frame to frame.

    It holds the region where the pose is expected in the next frame (made
    from its smoothed auxiliary landmarks), the landmark filters and the
    previous smoothed mask. A lost pose drops its track, and with it all of
    that state.

    Args:
        track_id: The id reported while this pose stays tracked.
        smooth_landmarks: Whether output landmarks are filtered (the
            auxiliary landmarks that steer the region always are).
        smooth_segmentation: Whether masks are blended with the previous one.
    """

    def __init__(self, track_id: int, smooth_landmarks: bool, smooth_segmentation: bool) -> None:
        self.track_id = track_id
        self.smooth_landmarks = smooth_landmarks
        self.smooth_segmentation = smooth_segmentation
        self.frames_tracked = 0
        self.next_roi: NormRect | None = None
        self._image = LandmarkSmoother(IMAGE_LANDMARK_FILTER)
        self._world = LandmarkSmoother(WORLD_LANDMARK_FILTER)
        self._aux = LandmarkSmoother(AUX_LANDMARK_FILTER)
        self._previous_mask: np.ndarray | None = None

    def inherit_filters(self, lost: PoseTrack) -> None:
        """Takes over the filters that MediaPipe's legacy graph keeps when a pose is lost.

        In that graph a filter whose only input is the landmarks is not run
        on a frame without a pose, so it is not reset either: the visibility
        filters and the world landmark filter carry their state over to the
        next detected pose (the coordinate filters of image and auxiliary
        landmarks, which also take the image size, do reset). The legacy API
        reproduces this with ``carry_filters_over_loss``.
        """
        self._image.visibility = lost._image.visibility
        self._aux.visibility = lost._aux.visibility
        self._world = lost._world

    def update(self, raw: RawPose, timestamp_us: int, image_width: int, image_height: int) -> SmoothedPose:
        """Filters a new observation of this pose and plans the next region."""
        size = pixel_scale(image_width, image_height)
        aux = raw.landmarks[AUX_SLICE]
        scale = object_scale(aux[:, :2], image_width, image_height)
        if self.smooth_landmarks:
            lm = raw.landmarks[:NUM_LANDMARKS]
            visibility = np.ascontiguousarray(lm[:, 3])
            xyz, smoothed_visibility = self._image.apply(lm[:, :3] * size, visibility, timestamp_us, scale)
            # World landmarks carry the image landmarks' visibility, smoothed
            # the same way, so one visibility serves both.
            world, _ = self._world.apply(raw.world[:NUM_LANDMARKS], visibility, timestamp_us)
            pose = SmoothedPose(xyz / size, smoothed_visibility, np.ascontiguousarray(lm[:, 4]), world)
        else:
            pose = unsmoothed(raw, image_width, image_height)
        aux_xyz, _ = self._aux.apply(aux[:, :3] * size, aux[:, 3], timestamp_us, scale)
        self.next_roi = roi_from_points(aux_xyz[:, :2] / size[:2], image_width, image_height)
        self.frames_tracked += 1
        return pose

    def smooth_mask(self, mask: np.ndarray) -> np.ndarray:
        """Blends this frame's mask with the previous frame's smoothed one, in place."""
        if not self.smooth_segmentation:
            return mask
        previous = self._previous_mask
        if previous is not None and previous.shape == mask.shape:
            smooth_mask(mask, previous, out=mask)
            np.copyto(previous, mask)  # its own copy: the caller may change the returned mask
        else:
            self._previous_mask = mask.copy()
        return mask
