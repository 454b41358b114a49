"""blazepose: MediaPipe Pose (BlazePose) on the official models, in numpy.

New code::

    import blazepose
    with blazepose.PoseEstimator(static_image_mode=True) as estimator:
        result = estimator.process(rgb_image)   # a PoseResult of numpy arrays
        result.landmarks                          # (poses, 33, 3)

Code written for MediaPipe: ``import blazepose as mp`` and use
``mp.solutions.pose`` as before.

Submodules load on first use; importing the package loads no model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "PoseEstimator": ("blazepose.pipeline", "PoseEstimator"),
    "PoseResult": ("blazepose.results", "PoseResult"),
    "PoseLandmark": ("blazepose.topology", "PoseLandmark"),
    "POSE_CONNECTIONS": ("blazepose.topology", "POSE_CONNECTIONS"),
    "LANDMARK_NAMES": ("blazepose.topology", "LANDMARK_NAMES"),
    "draw_result": ("blazepose.rendering", "draw_result"),
    "ModelFileError": ("blazepose.model_files", "ModelFileError"),
    "solutions": ("blazepose.solutions", None),
    "PoseLandmarker": ("blazepose.pose_landmarker", "PoseLandmarker"),
    "PoseLandmarkerOptions": ("blazepose.pose_landmarker", "PoseLandmarkerOptions"),
    "PoseLandmarkerResult": ("blazepose.pose_landmarker", "PoseLandmarkerResult"),
    "RunningMode": ("blazepose.pose_landmarker", "RunningMode"),
    "BaseOptions": ("blazepose.pose_landmarker", "BaseOptions"),
    "QueuePolicy": ("blazepose.pose_landmarker", "QueuePolicy"),
    "CallbackError": ("blazepose.pose_landmarker", "CallbackError"),
    "Image": ("blazepose.image", "Image"),
    "ImageFormat": ("blazepose.image", "ImageFormat"),
}

__all__ = [
    "LANDMARK_NAMES",
    "POSE_CONNECTIONS",
    "BaseOptions",
    "CallbackError",
    "Image",
    "ImageFormat",
    "ModelFileError",
    "PoseEstimator",
    "PoseLandmark",
    "PoseLandmarker",
    "PoseLandmarkerOptions",
    "PoseLandmarkerResult",
    "PoseResult",
    "QueuePolicy",
    "RunningMode",
    "__version__",
    "draw_result",
    "solutions",
]

if TYPE_CHECKING:  # pragma: no cover
    from blazepose import solutions
    from blazepose.image import Image, ImageFormat
    from blazepose.model_files import ModelFileError
    from blazepose.pipeline import PoseEstimator
    from blazepose.pose_landmarker import (
        BaseOptions,
        CallbackError,
        PoseLandmarker,
        PoseLandmarkerOptions,
        PoseLandmarkerResult,
        QueuePolicy,
        RunningMode,
    )
    from blazepose.rendering import draw_result
    from blazepose.results import PoseResult
    from blazepose.topology import LANDMARK_NAMES, POSE_CONNECTIONS, PoseLandmark


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'blazepose' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
