"""MediaPipe Tasks' pose API: ``PoseLandmarker`` (IMAGE, VIDEO, LIVE_STREAM), its options and ``Image``.

Reached as MediaPipe's guide reaches it too, after ``import blazepose as mp``: ``mp.tasks.BaseOptions``,
``mp.tasks.vision.PoseLandmarker``, ``from blazepose.tasks import python`` / ``python.vision``.
"""

from blazepose.tasks import python, vision  # MediaPipe's module paths
from blazepose.tasks.image import Image, ImageFormat
from blazepose.tasks.live_stream import CallbackError
from blazepose.tasks.options import BaseOptions, PoseLandmarkerOptions, QueuePolicy, RunningMode
from blazepose.tasks.pose_landmarker import PoseLandmarker
from blazepose.tasks.result import PoseLandmarkerResult

__all__ = [
    "BaseOptions",
    "CallbackError",
    "Image",
    "ImageFormat",
    "PoseLandmarker",
    "PoseLandmarkerOptions",
    "PoseLandmarkerResult",
    "QueuePolicy",
    "RunningMode",
    "python",
    "vision",
]
