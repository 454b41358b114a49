"""``mediapipe.tasks.python.vision``'s pose names: those of :mod:`blazepose.tasks.vision`."""

from blazepose.tasks.vision import *  # noqa: F403  (the same names, under MediaPipe's module path)
from blazepose.tasks.vision import __all__ as __all__
