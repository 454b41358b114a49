"""Drop-in replacement for ``mediapipe.solutions.pose`` (MediaPipe 0.10.14).

    import blazepose as mp
    with mp.solutions.pose.Pose(static_image_mode=True) as pose:
        results = pose.process(rgb_image)
        nose = results.pose_landmarks.landmark[mp.solutions.pose.PoseLandmark.NOSE]

Answers are those of MediaPipe 0.10.14's Python solution, bit for bit on
the shared test photos and video (see docs/parity.md), including two
quirks of that wrapper: the heatmap refinement uses a 9-cell window (the
calculator's default; the graph asks for 7 but the Python wrapper drops that
option), and ``smooth_segmentation`` has no effect (the wrapper drops the
blending ratio, which then defaults to 0). One quirk of the graph is kept as
well: after a lost pose, the visibility and world landmark filters go on
from their old state (``carry_filters_over_loss``). For new code,
:class:`blazepose.PoseEstimator` returns numpy arrays and blends masks when
asked to.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from blazepose.core.estimator import PoseEstimator
from blazepose.core.results import PoseResult
from blazepose.core.single_caller import SingleCaller
from blazepose.core.topology import POSE_CONNECTIONS, PoseLandmark
from blazepose.core.validation import RGB_SHAPE_MESSAGE, check_rgb_image
from blazepose.solutions.landmark_list import (
    LandmarkList,
    NormalizedLandmarkList,
    landmark_list_from_arrays,
)

# The legacy API feeds frames 33,333 microseconds apart (30 frames per second).
LEGACY_FRAME_STEP_US = 33333


class PoseSolutionOutputs(NamedTuple):
    """What :meth:`Pose.process` returns; each field is None when no pose is found."""

    pose_landmarks: NormalizedLandmarkList | None
    pose_world_landmarks: LandmarkList | None
    segmentation_mask: np.ndarray | None


def outputs_from_result(result: PoseResult, pose_index: int = 0) -> PoseSolutionOutputs:
    """Turns one pose of a :class:`PoseResult` into MediaPipe-shaped outputs.

    As MediaPipe's ``Pose``, the landmarks carry visibility but no presence,
    and world landmarks carry the same visibility.
    """
    if len(result) <= pose_index:
        return PoseSolutionOutputs(None, None, None)
    vis = result.visibility[pose_index]
    masks = result.segmentation_masks
    return PoseSolutionOutputs(
        pose_landmarks=landmark_list_from_arrays(result.landmarks[pose_index], vis, None),
        pose_world_landmarks=landmark_list_from_arrays(result.world_landmarks[pose_index], vis, None, world=True),
        segmentation_mask=None if masks is None else masks[pose_index],
    )


class Pose:
    """MediaPipe Pose: the landmarks of the most prominent person in each image.

    Args:
        static_image_mode: Treat images as unrelated photos (detect every
            time, no smoothing) instead of a video stream.
        model_complexity: 0 (lite), 1 (full) or 2 (heavy).
        smooth_landmarks: Filter landmarks across frames (video only).
        enable_segmentation: Also return a segmentation mask.
        smooth_segmentation: Accepted for compatibility; as in MediaPipe
            0.10.14's Python solution it changes nothing.
        min_detection_confidence: Minimum person detection score, in [0, 1].
        min_tracking_confidence: Minimum pose presence score for the
            landmarks to count as found (and tracked), in [0, 1].
        num_threads: Inference threads, keyword only (not in MediaPipe's
            API). None: the available cores, at most 4; every count gives
            the same answers.

    Raises:
        ValueError: a parameter is out of range.
    """

    def __init__(
        self,
        static_image_mode: bool = False,
        model_complexity: int = 1,
        smooth_landmarks: bool = True,
        enable_segmentation: bool = False,
        smooth_segmentation: bool = True,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        *,
        num_threads: int | None = None,
    ) -> None:
        self._estimator: PoseEstimator | None = PoseEstimator(
            static_image_mode=static_image_mode,
            model_complexity=model_complexity,
            smooth_landmarks=smooth_landmarks,
            enable_segmentation=enable_segmentation,
            smooth_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
            carry_filters_over_loss=True,
            num_threads=num_threads,
        )
        self._timestamp_us = 0
        self._calls = SingleCaller(type(self).__name__)

    def process(self, image: np.ndarray) -> PoseSolutionOutputs:
        """Finds the pose of the most prominent person in an RGB image.

        Args:
            image: (H, W, 3) uint8 RGB array.

        Returns:
            ``pose_landmarks``, ``pose_world_landmarks`` and
            ``segmentation_mask`` (float32 HxW, when enabled), each None
            when no pose is found.

        Raises:
            ValueError: the image is not three-channel (MediaPipe's message)
                or is empty, or the instance is closed.
            TypeError: the image is not a uint8 numpy array.
            RuntimeError: another thread is inside a call of this instance.
        """
        with self._calls.call("process"):
            estimator = self._estimator
            if estimator is None:
                raise ValueError("this Pose instance is closed; create a new one")
            if isinstance(image, np.ndarray) and (image.ndim != 3 or image.shape[2] != 3):
                raise ValueError(RGB_SHAPE_MESSAGE)
            check_rgb_image(image)
            self._timestamp_us += LEGACY_FRAME_STEP_US
            return outputs_from_result(estimator._process(image, self._timestamp_us, None))

    def reset(self) -> None:
        """Forgets the tracked pose and the filters' history."""
        with self._calls.call("reset"):
            if self._estimator is not None:
                self._estimator.reset()

    def close(self) -> None:
        """Frees the models. Closing twice raises, as in MediaPipe."""
        with self._calls.call("close"):
            if self._estimator is None:
                raise ValueError("Closing SolutionBase._graph which is already None")
            self._estimator.close()
            self._estimator = None

    def __enter__(self) -> Pose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["POSE_CONNECTIONS", "Pose", "PoseLandmark", "PoseSolutionOutputs", "outputs_from_result"]
