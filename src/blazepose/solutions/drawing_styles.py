"""MediaPipe's default drawing styles for poses."""

from __future__ import annotations

from collections.abc import Mapping

from blazepose.draw.skeleton import DrawingSpec, default_pose_landmarks_style


def get_default_pose_landmarks_style() -> Mapping[int, DrawingSpec]:
    """Returns the default pose landmarks drawing style: a spec per landmark."""
    return default_pose_landmarks_style()


__all__ = ["get_default_pose_landmarks_style"]
