"""``mediapipe.tasks.python.vision``'s pose names (see :mod:`blazepose.tasks.vision`)."""

from blazepose.tasks.vision import (
    PoseLandmark,
    PoseLandmarker,
    PoseLandmarkerOptions,
    PoseLandmarkerResult,
    PoseLandmarksConnections,
    RunningMode,
    drawing_styles,
    drawing_utils,
)

__all__ = [
    "PoseLandmark",
    "PoseLandmarker",
    "PoseLandmarkerOptions",
    "PoseLandmarkerResult",
    "PoseLandmarksConnections",
    "RunningMode",
    "drawing_styles",
    "drawing_utils",
]
