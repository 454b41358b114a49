"""MediaPipe Tasks' landmark containers: dataclasses, as ``mediapipe.tasks`` defines them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class _LandmarkFields:
    """What both kinds of landmark hold (MediaPipe's two are unrelated classes with the same fields)."""

    x: float | None = None
    y: float | None = None
    z: float | None = None
    visibility: float | None = None
    presence: float | None = None
    name: str | None = None

    def HasField(self, field_name: str) -> bool:
        """Whether a field is set: kept for code written for this library's earlier, protobuf-like results."""
        if field_name not in ("x", "y", "z", "visibility", "presence", "name"):
            raise ValueError(f'Protocol message has no singular "{field_name}" field.')
        return getattr(self, field_name) is not None

    def ClearField(self, field_name: str) -> None:
        """Unsets ``visibility``, ``presence`` or ``name`` (kept, as ``HasField`` is)."""
        if field_name not in ("visibility", "presence", "name"):
            raise ValueError(f'cannot clear field "{field_name}"; expected visibility, presence or name')
        setattr(self, field_name, None)


@dataclass
class NormalizedLandmark(_LandmarkFields):
    """A landmark: x, y normalized to [0, 1] by the image size, z in the scale of x; visibility and
    presence scores (None when not given); a name (None: MediaPipe's pose landmarker gives none)."""


@dataclass
class Landmark(_LandmarkFields):
    """A world landmark: x, y, z in metres, origin between the hips."""


def _values(
    xyz: np.ndarray, visibility: np.ndarray, presence: np.ndarray
) -> list[tuple[float, float, float, float, float]]:
    """Each landmark's x, y, z, visibility and presence as Python floats (one ``tolist`` each, values exact)."""
    rows = np.asarray(xyz, np.float64).tolist()
    vis = np.asarray(visibility, np.float64).tolist()
    pres = np.asarray(presence, np.float64).tolist()
    return [(x, y, z, v, p) for (x, y, z), v, p in zip(rows, vis, pres, strict=True)]


def normalized_landmarks(xyz: np.ndarray, visibility: np.ndarray, presence: np.ndarray) -> list[NormalizedLandmark]:
    """One pose's landmarks from (K, 3) normalized coordinates and (K,) scores."""
    return [NormalizedLandmark(*values) for values in _values(xyz, visibility, presence)]


def world_landmarks(xyz: np.ndarray, visibility: np.ndarray, presence: np.ndarray) -> list[Landmark]:
    """One pose's world landmarks from (K, 3) metres and (K,) scores."""
    return [Landmark(*values) for values in _values(xyz, visibility, presence)]
