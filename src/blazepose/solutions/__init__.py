"""Drop-in replacements for ``mediapipe.solutions`` (pose, drawing).

``import blazepose as mp`` and then ``mp.solutions.pose.Pose(...)``,
``mp.solutions.drawing_utils`` and ``mp.solutions.drawing_styles`` work as
in MediaPipe 0.10.14.
"""

from blazepose.solutions import drawing_styles, drawing_utils, pose

__all__ = ["drawing_styles", "drawing_utils", "pose"]
