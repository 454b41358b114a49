"""``PoseLandmarkerResult``: the poses of one frame as MediaPipe Tasks lists them, plus the arrays."""

from __future__ import annotations

from dataclasses import dataclass

from blazepose.core.results import PoseResult
from blazepose.tasks.image import Image, ImageFormat
from blazepose.tasks.landmarks import Landmark, NormalizedLandmark, normalized_landmarks, world_landmarks


@dataclass(init=False)
class PoseLandmarkerResult:
    """Poses found in one frame, as MediaPipe Tasks lists them, plus the arrays.

    Attributes:
        pose_landmarks: Per pose, 33 landmarks with x, y, z, visibility, presence.
        pose_world_landmarks: Per pose, 33 landmarks in metres.
        segmentation_masks: Per pose, an ``Image`` of the float mask, (H, W, 1) (when
            asked for; None when no pose was found, as MediaPipe gives).
        result: The same poses as a :class:`PoseResult` of numpy arrays. Not a
            dataclass field, so that ``dataclasses.asdict`` gives MediaPipe's
            three (and ``dataclasses.replace`` gives a result without it).
    """

    pose_landmarks: list[list[NormalizedLandmark]]
    pose_world_landmarks: list[list[Landmark]]
    segmentation_masks: list[Image] | None = None

    def __init__(
        self,
        pose_landmarks: list[list[NormalizedLandmark]],
        pose_world_landmarks: list[list[Landmark]],
        segmentation_masks: list[Image] | None = None,
        result: PoseResult | None = None,
    ) -> None:
        self.pose_landmarks = pose_landmarks
        self.pose_world_landmarks = pose_world_landmarks
        self.segmentation_masks = segmentation_masks
        self.result = result

    @property
    def track_ids(self) -> list[int]:
        """Each pose's track id (stable while tracked in VIDEO and LIVE_STREAM)."""
        return [] if self.result is None else self.result.track_ids.tolist()

    @staticmethod
    def from_pose_result(result: PoseResult) -> PoseLandmarkerResult:
        lms: list[list[NormalizedLandmark]] = []
        world: list[list[Landmark]] = []
        for i in range(len(result)):
            vis, pres = result.visibility[i], result.presence[i]
            lms.append(normalized_landmarks(result.landmarks[i], vis, pres))
            world.append(world_landmarks(result.world_landmarks[i], vis, pres))
        masks = None
        if result.segmentation_masks is not None and len(result):
            masks = [Image._holding(ImageFormat.VEC32F1, m[..., None]) for m in result.segmentation_masks]
        return PoseLandmarkerResult(lms, world, masks, result)
