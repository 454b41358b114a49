"""Plain Python stand-ins for MediaPipe's landmark protobuf messages.

They offer what code written for ``mp.solutions.pose`` reads:
``results.pose_landmarks.landmark[i].x``, ``HasField('visibility')``,
iteration and ``len``. No protobuf is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np

_OPTIONAL = ("visibility", "presence")


class NormalizedLandmark:
    """A landmark: x, y normalized to [0, 1] by the image size, z in the scale of x.

    ``visibility`` and ``presence`` are optional, as in the protobuf message:
    an unset one reads as 0.0 and ``HasField`` tells whether it is set.
    """

    __slots__ = ("_presence", "_visibility", "x", "y", "z")

    def __init__(
        self,
        x: float = 0.0,
        y: float = 0.0,
        z: float = 0.0,
        visibility: float | None = None,
        presence: float | None = None,
    ) -> None:
        self.x, self.y, self.z = x, y, z
        self._visibility = visibility
        self._presence = presence

    @property
    def visibility(self) -> float:
        return 0.0 if self._visibility is None else self._visibility

    @visibility.setter
    def visibility(self, value: float) -> None:
        self._visibility = float(value)

    @property
    def presence(self) -> float:
        return 0.0 if self._presence is None else self._presence

    @presence.setter
    def presence(self, value: float) -> None:
        self._presence = float(value)

    def HasField(self, name: str) -> bool:
        """Whether a field is set (x, y and z always are)."""
        if name in _OPTIONAL:
            return getattr(self, "_" + name) is not None
        if name in ("x", "y", "z"):
            return True
        raise ValueError(f'Protocol message has no singular "{name}" field.')

    def ClearField(self, name: str) -> None:
        """Unsets ``visibility`` or ``presence``."""
        if name not in _OPTIONAL:
            raise ValueError(f'cannot clear field "{name}"; expected one of {_OPTIONAL}')
        setattr(self, "_" + name, None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NormalizedLandmark):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __str__(self) -> str:
        return "".join(
            f"{n}: {_float_text(getattr(self, n))}\n" for n in ("x", "y", "z", *_OPTIONAL) if self.HasField(n)
        )

    __repr__ = __str__  # (a protobuf message's repr is its text: what print() of a list of landmarks shows)


def _float_text(value: float) -> str:
    """A float field as protobuf's text format writes it (what ``print`` shows of MediaPipe's landmarks): the
    float32 value in 6 significant digits when they give it back, else in 9."""
    single = np.float32(value)
    short = f"{float(single):.6g}"
    return short if np.float32(float(short)) == single else f"{float(single):.9g}"


class Landmark(NormalizedLandmark):
    """A world landmark: x, y, z in metres, origin between the hips."""

    __slots__ = ()


@dataclass(repr=False)
class NormalizedLandmarkList:
    """A list of landmarks, read as ``.landmark[i]``."""

    landmark: list[NormalizedLandmark] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.landmark)

    def __iter__(self):
        return iter(self.landmark)

    def __str__(self) -> str:
        return "".join(
            "landmark {\n" + "".join(f"  {line}\n" for line in str(lm).splitlines()) + "}\n" for lm in self.landmark
        )

    __repr__ = __str__


class LandmarkList(NormalizedLandmarkList):
    """A list of world landmarks, read as ``.landmark[i]``."""


@overload
def landmark_list_from_arrays(
    xyz: np.ndarray, visibility: np.ndarray | None, presence: np.ndarray | None, world: Literal[False] = False
) -> NormalizedLandmarkList: ...


@overload
def landmark_list_from_arrays(
    xyz: np.ndarray, visibility: np.ndarray | None, presence: np.ndarray | None, world: Literal[True]
) -> LandmarkList: ...


def landmark_list_from_arrays(
    xyz: np.ndarray,
    visibility: np.ndarray | None,
    presence: np.ndarray | None,
    world: bool = False,
) -> NormalizedLandmarkList:
    """Builds a landmark list (world: metres) from (K, 3) coordinates and optional (K,) scores."""
    out = LandmarkList() if world else NormalizedLandmarkList()
    item = Landmark if world else NormalizedLandmark
    rows = np.asarray(xyz, np.float64).tolist()  # Python floats in one call, each value exact
    unset = [None] * len(rows)
    vis = unset if visibility is None else np.asarray(visibility, np.float64)[: len(rows)].tolist()
    pres = unset if presence is None else np.asarray(presence, np.float64)[: len(rows)].tolist()
    if len(vis) < len(rows) or len(pres) < len(rows):
        raise ValueError(f"expected a visibility and presence per landmark ({len(rows)}), got {len(vis)}, {len(pres)}")
    out.landmark = [item(x, y, z, v, p) for (x, y, z), v, p in zip(rows, vis, pres, strict=True)]
    return out


def landmark_list_to_arrays(
    landmark_list: NormalizedLandmarkList | Sequence[Any],
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(K, 3) float32 coordinates and (K,) visibility and presence (None where unset), from a landmark list
    or a plain sequence of landmarks (MediaPipe Tasks' dataclasses, whose unset scores are None)."""
    lms = list(landmark_list.landmark if hasattr(landmark_list, "landmark") else landmark_list)
    xyz = np.array([[lm.x, lm.y, lm.z] for lm in lms], np.float32).reshape(-1, 3)
    vis = (
        np.array([lm.visibility for lm in lms], np.float32)
        if lms and all(_set(lm, "visibility") for lm in lms)
        else None
    )
    pres = (
        np.array([lm.presence for lm in lms], np.float32) if lms and all(_set(lm, "presence") for lm in lms) else None
    )
    return xyz, vis, pres


def _set(landmark: Any, name: str) -> bool:
    """Whether a landmark's score is set: ``HasField`` where it has one, else not None."""
    has_field = getattr(landmark, "HasField", None)
    return bool(has_field(name)) if has_field is not None else getattr(landmark, name, None) is not None
