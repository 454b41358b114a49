"""The result of one frame: every pose's landmarks as numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from blazepose.core.landmarks import NUM_LANDMARKS


def _check(name: str, array: np.ndarray, shape: tuple[int, ...], dtype: type) -> None:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != dtype:
        raise TypeError(f"{name} must be {np.dtype(dtype).name}, got {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")


@dataclass(frozen=True, eq=False)
class PoseResult:
    """Poses found in one image, with a leading pose axis (N poses, N >= 0).

    Attributes:
        landmarks: (N, 33, 3) float32 ``x, y, z``: x and y normalized to
            [0, 1] by the image width and height (may fall outside for points
            beyond the edges), z the depth relative to the hips, in the same
            scale as x (smaller is nearer the camera).
        world_landmarks: (N, 33, 3) float32 ``x, y, z`` in metres, origin
            between the hips.
        visibility: (N, 33) float32, probability that the landmark is visible
            (not occluded).
        presence: (N, 33) float32, probability that the landmark is in the
            frame.
        pose_scores: (N,) float32, the landmark model's pose presence score (with
            ``accuracy="high"`` on photos, times how well its refinement runs
            agree: :func:`blazepose.core.high_accuracy.consistency`).
        rois: (N, 5) float32 ``x_center, y_center, width, height, rotation``:
            the region each pose's landmarks came from (normalized, radians).
        image_size: ``(height, width)`` of the image in pixels.
        segmentation_masks: (N, H, W) float32 in [0, 1], or None when
            segmentation is off.
        track_ids: (N,) int64 ids that stay the same while a pose is tracked
            from frame to frame (video mode); fresh ids in image mode.
        timestamp_us: The frame's timestamp in microseconds (None in image mode).
    """

    landmarks: np.ndarray
    world_landmarks: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    pose_scores: np.ndarray
    rois: np.ndarray
    image_size: tuple[int, int]
    segmentation_masks: np.ndarray | None = None
    # None at construction means 0..N-1; after construction it is always an array.
    track_ids: np.ndarray = None  # type: ignore[assignment]
    timestamp_us: int | None = None

    def __post_init__(self) -> None:
        n = self.landmarks.shape[0] if isinstance(self.landmarks, np.ndarray) and self.landmarks.ndim else -1
        _check("landmarks", self.landmarks, (n, NUM_LANDMARKS, 3), np.float32)
        _check("world_landmarks", self.world_landmarks, (n, NUM_LANDMARKS, 3), np.float32)
        _check("visibility", self.visibility, (n, NUM_LANDMARKS), np.float32)
        _check("presence", self.presence, (n, NUM_LANDMARKS), np.float32)
        _check("pose_scores", self.pose_scores, (n,), np.float32)
        _check("rois", self.rois, (n, 5), np.float32)
        h, w = self.image_size
        if self.segmentation_masks is not None:
            _check("segmentation_masks", self.segmentation_masks, (n, h, w), np.float32)
        if self.track_ids is None:
            object.__setattr__(self, "track_ids", np.arange(n, dtype=np.int64))
        else:
            _check("track_ids", self.track_ids, (n,), np.int64)

    def __len__(self) -> int:
        return self.landmarks.shape[0]

    @property
    def num_poses(self) -> int:
        return len(self)

    @property
    def landmarks_px(self) -> np.ndarray:
        """(N, 33, 3) landmarks in pixels: ``x * W, y * H, z * W``."""
        h, w = self.image_size
        return self.landmarks * np.array([w, h, w], np.float32)

    @property
    def segmentation_mask(self) -> np.ndarray | None:
        """(H, W) float32: all poses' masks merged by maximum (None when off)."""
        if self.segmentation_masks is None:
            return None
        if len(self) == 0:
            return np.zeros(self.image_size, np.float32)
        return self.segmentation_masks.max(axis=0)

    @staticmethod
    def empty(image_size: tuple[int, int], with_masks: bool, timestamp_us: int | None = None) -> PoseResult:
        """A result with no pose."""
        h, w = image_size
        z = np.zeros
        return PoseResult(
            landmarks=z((0, NUM_LANDMARKS, 3), np.float32),
            world_landmarks=z((0, NUM_LANDMARKS, 3), np.float32),
            visibility=z((0, NUM_LANDMARKS), np.float32),
            presence=z((0, NUM_LANDMARKS), np.float32),
            pose_scores=z((0,), np.float32),
            rois=z((0, 5), np.float32),
            image_size=(h, w),
            segmentation_masks=z((0, h, w), np.float32) if with_masks else None,
            track_ids=z((0,), np.int64),
            timestamp_us=timestamp_us,
        )
