"""The names MediaPipe Tasks code reaches through ``mp.tasks.vision`` (``mediapipe.tasks.python.vision``):
``vision.PoseLandmarker``, ``vision.PoseLandmarkerOptions``, ``vision.RunningMode``, ``vision.PoseLandmark``,
``vision.PoseLandmarksConnections.POSE_LANDMARKS`` and the drawing modules ``drawing_utils`` and
``drawing_styles`` (whose ``draw_landmarks`` takes a pose's landmark list as Tasks gives it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from blazepose.core.topology import PoseLandmark
from blazepose.solutions import drawing_styles, drawing_utils
from blazepose.tasks.options import PoseLandmarkerOptions, RunningMode
from blazepose.tasks.pose_landmarker import PoseLandmarker
from blazepose.tasks.result import PoseLandmarkerResult


@dataclass(frozen=True)
class Connection:
    """Two landmarks a line joins."""

    start: int
    end: int


_Connection = Connection  # (the class attribute below hides the name inside the class)

# (limb by limb, each from the body outwards: the order Tasks lists and draws them in)
_ORDER = ((0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13), (13, 15),
          (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
          (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30), (29, 31),
          (30, 32), (27, 31), (28, 32))  # fmt: skip


class PoseLandmarksConnections:
    """The skeleton's connections as MediaPipe Tasks lists them (face, arms, torso, legs)."""

    Connection: ClassVar[type[_Connection]] = _Connection
    POSE_LANDMARKS: ClassVar[list[_Connection]] = [_Connection(a, b) for a, b in _ORDER]


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
