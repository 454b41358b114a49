"""Drawing landmarks on images (kept apart from inference)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from blazepose.core.topology import LEFT_LANDMARKS, POSE_CONNECTIONS, RIGHT_LANDMARKS, PoseLandmark

VISIBILITY_THRESHOLD = 0.5
PRESENCE_THRESHOLD = 0.5

WHITE_COLOR = (224, 224, 224)
BLACK_COLOR = (0, 0, 0)
RED_COLOR = (0, 0, 255)
GREEN_COLOR = (0, 128, 0)
BLUE_COLOR = (255, 0, 0)


@dataclass
class DrawingSpec:
    """How to draw a landmark or a connection (colours are BGR, as OpenCV draws)."""

    color: tuple[int, int, int] = WHITE_COLOR
    thickness: int = 2
    circle_radius: int = 2


SpecOrMap = DrawingSpec | Mapping


def default_pose_landmarks_style() -> dict[int, DrawingSpec]:
    """MediaPipe's default pose style: orange left side, cyan right side, white nose."""
    style: dict[int, DrawingSpec] = {}
    left = DrawingSpec(color=(0, 138, 255), thickness=2)
    right = DrawingSpec(color=(231, 217, 0), thickness=2)
    for lm in LEFT_LANDMARKS:
        style[lm] = left
    for lm in RIGHT_LANDMARKS:
        style[lm] = right
    style[PoseLandmark.NOSE] = DrawingSpec(color=WHITE_COLOR, thickness=2)
    return style


def normalized_to_pixel(x: float, y: float, width: int, height: int) -> tuple[int, int] | None:
    """Pixel of a normalized point, or None when it lies outside [0, 1]."""

    def inside(v: float) -> bool:
        return (v > 0 or math.isclose(0, v)) and (v < 1 or math.isclose(1, v))

    if not (inside(x) and inside(y)):
        return None
    return min(math.floor(x * width), width - 1), min(math.floor(y * height), height - 1)


def check_connection(start: int, end: int, count: int) -> None:
    """Raises MediaPipe's error when a connection names a landmark that does not exist."""
    if not (0 <= start < count and 0 <= end < count):
        raise ValueError(
            f"Landmark index is out of range. Invalid connection from landmark #{start} to landmark #{end}."
        )


def _spec_for(spec: SpecOrMap, key: object) -> DrawingSpec:
    return spec[key] if isinstance(spec, Mapping) else spec


def draw_skeleton(
    image: np.ndarray,
    points: np.ndarray,
    visibility: np.ndarray | None = None,
    presence: np.ndarray | None = None,
    connections: Iterable[tuple[int, int]] | None = POSE_CONNECTIONS,
    landmark_spec: SpecOrMap | None = None,
    connection_spec: SpecOrMap | None = None,
    draw_points: bool = True,
) -> np.ndarray:
    """Draws one pose on a BGR image in place, MediaPipe style.

    Landmarks whose visibility or presence is below 0.5, or that fall
    outside the image, are not drawn, nor are their connections.

    Args:
        image: (H, W, 3) uint8 BGR image, drawn on in place.
        points: (K, >=2) normalized ``x, y``.
        visibility: (K,) or None.
        presence: (K,) or None.
        connections: Index pairs to join with lines.
        landmark_spec: One spec or a mapping from landmark index to spec
            (None: red dots).
        connection_spec: One spec or a mapping from connection to spec.
        draw_points: Whether to draw the landmark dots.

    Returns:
        The same image.

    Raises:
        ValueError: the image is not 3-channel, or a connection names a
            landmark that does not exist.
    """
    import cv2

    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("Input image must contain three channel bgr data.")
    landmark_spec = DrawingSpec(color=RED_COLOR) if landmark_spec is None else landmark_spec
    connection_spec = DrawingSpec() if connection_spec is None else connection_spec
    rows, cols = image.shape[:2]
    pixels: dict[int, tuple[int, int]] = {}
    for i, (x, y) in enumerate(np.asarray(points)[:, :2]):
        if visibility is not None and visibility[i] < VISIBILITY_THRESHOLD:
            continue
        if presence is not None and presence[i] < PRESENCE_THRESHOLD:
            continue
        px = normalized_to_pixel(float(x), float(y), cols, rows)
        if px is not None:
            pixels[i] = px
    count = len(points)
    for start, end in connections or ():
        check_connection(start, end, count)
        if start in pixels and end in pixels:
            spec = _spec_for(connection_spec, (start, end))
            cv2.line(image, pixels[start], pixels[end], spec.color, spec.thickness)
    if draw_points and landmark_spec:
        for i, px in pixels.items():
            spec = _spec_for(landmark_spec, i)
            border = max(spec.circle_radius + 1, int(spec.circle_radius * 1.2))
            cv2.circle(image, px, border, WHITE_COLOR, spec.thickness)
            cv2.circle(image, px, spec.circle_radius, spec.color, spec.thickness)
    return image


def draw_result(image_bgr: np.ndarray, result, pose_index: int | None = None) -> np.ndarray:
    """Draws the poses of a :class:`~blazepose.PoseResult` on a BGR image in place,
    in MediaPipe's default pose style.

    Args:
        image_bgr: (H, W, 3) uint8 BGR image.
        result: The result to draw.
        pose_index: Only this pose (default: all).
    """
    indices = range(len(result)) if pose_index is None else [pose_index]
    style = default_pose_landmarks_style()
    for i in indices:
        draw_skeleton(image_bgr, result.landmarks[i], result.visibility[i], result.presence[i], landmark_spec=style)
    return image_bgr
