"""``from mediapipe.tasks import python`` as MediaPipe's guide writes it: ``python.BaseOptions`` and
``from mediapipe.tasks.python import vision``."""

from blazepose.tasks import vision
from blazepose.tasks.options import BaseOptions

__all__ = ["BaseOptions", "vision"]
