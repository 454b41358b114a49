"""``mediapipe.tasks.python.vision``'s pose names (see :mod:`blazepose.tasks.vision`)."""

from blazepose.tasks.vision import PoseLandmarker, PoseLandmarkerOptions, PoseLandmarkerResult, RunningMode

__all__ = ["PoseLandmarker", "PoseLandmarkerOptions", "PoseLandmarkerResult", "RunningMode"]
