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
    "PoseEstimator": ("blazepose.core.estimator", "PoseEstimator"),
    "StreamBatch": ("blazepose.core.batch", "StreamBatch"),
    "PoseResult": ("blazepose.core.results", "PoseResult"),
    "PoseLandmark": ("blazepose.core.topology", "PoseLandmark"),
    "POSE_CONNECTIONS": ("blazepose.core.topology", "POSE_CONNECTIONS"),
    "LANDMARK_NAMES": ("blazepose.core.topology", "LANDMARK_NAMES"),
    "draw_result": ("blazepose.draw.skeleton", "draw_result"),
    "ModelFileError": ("blazepose.models", "ModelFileError"),
    "solutions": ("blazepose.solutions", None),
    "tasks": ("blazepose.tasks", None),
    "PoseLandmarker": ("blazepose.tasks.pose_landmarker", "PoseLandmarker"),
    "PoseLandmarkerOptions": ("blazepose.tasks.options", "PoseLandmarkerOptions"),
    "PoseLandmarkerResult": ("blazepose.tasks.result", "PoseLandmarkerResult"),
    "RunningMode": ("blazepose.tasks.options", "RunningMode"),
    "BaseOptions": ("blazepose.tasks.options", "BaseOptions"),
    "QueuePolicy": ("blazepose.tasks.options", "QueuePolicy"),
    "CallbackError": ("blazepose.tasks.live_stream", "CallbackError"),
    "Image": ("blazepose.tasks.image", "Image"),
    "ImageFormat": ("blazepose.tasks.image", "ImageFormat"),
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
    "StreamBatch",
    "__version__",
    "draw_result",
    "solutions",
    "tasks",
]

if TYPE_CHECKING:  # pragma: no cover
    from blazepose import solutions, tasks
    from blazepose.core.batch import StreamBatch
    from blazepose.core.estimator import PoseEstimator
    from blazepose.core.results import PoseResult
    from blazepose.core.topology import LANDMARK_NAMES, POSE_CONNECTIONS, PoseLandmark
    from blazepose.draw.skeleton import draw_result
    from blazepose.models import ModelFileError
    from blazepose.tasks import (
        BaseOptions,
        CallbackError,
        PoseLandmarker,
        PoseLandmarkerOptions,
        PoseLandmarkerResult,
        QueuePolicy,
        RunningMode,
    )
    from blazepose.tasks.image import Image, ImageFormat


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
