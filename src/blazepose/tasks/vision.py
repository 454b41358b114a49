"""The names MediaPipe Tasks code reaches through ``mp.tasks.vision`` (``mediapipe.tasks.python.vision``):
``vision.PoseLandmarker``, ``vision.PoseLandmarkerOptions``, ``vision.RunningMode`` ..."""

from blazepose.tasks.options import PoseLandmarkerOptions, RunningMode
from blazepose.tasks.pose_landmarker import PoseLandmarker
from blazepose.tasks.result import PoseLandmarkerResult

__all__ = ["PoseLandmarker", "PoseLandmarkerOptions", "PoseLandmarkerResult", "RunningMode"]
