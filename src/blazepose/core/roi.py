"""Regions of interest: rotated rectangles from two alignment points.

A region is a :class:`NormRect`: centre, size and rotation, with centre and
size normalized by the image's width and height (so a square in pixels has
``width * image_width == height * image_height``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from blazepose.core.float32 import atan2_32, f32, normalize_radians32
from blazepose.core.native import native_kernels

ROI_SCALE = 1.25
TARGET_ANGLE = math.pi / 2  # the hip-to-circle vector points up in the crop


class NormRect(NamedTuple):
    """A rotated rectangle in normalized image coordinates (rotation in radians)."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float

    def to_pixels(self, image_width: int, image_height: int) -> PixelRect:
        """The same rectangle in pixels (float32 arithmetic)."""
        w, h = f32(image_width), f32(image_height)
        return PixelRect(
            float(f32(self.x_center) * w),
            float(f32(self.y_center) * h),
            float(f32(self.width) * w),
            float(f32(self.height) * h),
            float(f32(self.rotation)),
        )


class PixelRect(NamedTuple):
    """A rotated rectangle in pixels (rotation in radians)."""

    x_center: float
    y_center: float
    width: float
    height: float
    rotation: float


def rect_from_alignment_points(
    center: np.ndarray, scale_point: np.ndarray, image_width: int, image_height: int
) -> NormRect:
    """The raw region of a body: centred on ``center``, of side twice the
    distance to ``scale_point``, rotated so that the centre-to-scale-point
    vector points up. Computed in float32, as MediaPipe does.

    Args:
        center: (2,) normalized ``x, y`` of the centre point (hip midpoint).
        scale_point: (2,) normalized ``x, y`` of the point on the body's circle.
        image_width: Image width in pixels.
        image_height: Image height in pixels.
    """
    native = _alignment_rect(center, scale_point, image_width, image_height)
    if native is not None:
        return NormRect(*native[:5])
    w, h = f32(image_width), f32(image_height)
    x0, y0 = f32(center[0]) * w, f32(center[1]) * h
    x1, y1 = f32(scale_point[0]) * w, f32(scale_point[1]) * h
    dx, dy = x1 - x0, y1 - y0
    side = f32(np.sqrt(dx * dx + dy * dy) * f32(2))
    rotation = normalize_radians32(f32(TARGET_ANGLE) - atan2_32(-dy, dx))
    return NormRect(float(x0 / w), float(y0 / h), float(side / w), float(side / h), float(rotation))


def enlarge_rect(rect: NormRect, image_width: int, image_height: int, scale: float = ROI_SCALE) -> NormRect:
    """Squares a region on its longer side in pixels, then scales it (float32)."""
    w, h = f32(image_width), f32(image_height)
    long_side = max(f32(rect.width) * w, f32(rect.height) * h)
    return rect._replace(width=float(long_side / w * f32(scale)), height=float(long_side / h * f32(scale)))


def roi_from_points(points: np.ndarray, image_width: int, image_height: int) -> NormRect:
    """The landmark model's region from the two alignment points.

    Args:
        points: (>=2, 2) normalized ``x, y``; points 0 (centre) and 1 (circle
            point) are used: the detector's first two keypoints, or the
            landmark model's two auxiliary landmarks.
    """
    native = _alignment_rect(points[0], points[1], image_width, image_height)
    if native is not None:
        x_center, y_center, _, _, rotation, width, height, _ = native
        return NormRect(x_center, y_center, width, height, rotation)
    raw = rect_from_alignment_points(points[0], points[1], image_width, image_height)
    return enlarge_rect(raw, image_width, image_height)


def roi_from_box(box: np.ndarray, image_width: int, image_height: int, scale: float = ROI_SCALE) -> NormRect:
    """A landmark-model region from a person box given by another detector.

    Without keypoints the body's centre is taken as the box's centre, its
    enclosing circle as the box's longer side, and the pose as upright: a
    square of ``scale`` times the longer side, unrotated.

    Args:
        box: ``x0, y0, x1, y1`` in pixels.
    """
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0) * scale
    return NormRect(
        (x0 + x1) / 2 / image_width, (y0 + y1) / 2 / image_height, side / image_width, side / image_height, 0.0
    )


def object_scale(points: np.ndarray, image_width: int, image_height: int) -> float:
    """The body's size in pixels used to scale the landmark filters.

    It is the mean of the width and height, in pixels, of the raw region of
    the two alignment points: twice their distance.
    """
    native = _alignment_rect(points[0], points[1], image_width, image_height)
    if native is not None:
        return native[7]
    raw = rect_from_alignment_points(points[0], points[1], image_width, image_height)
    return float((f32(raw.width) * f32(image_width) + f32(raw.height) * f32(image_height)) / f32(2))


def _alignment_rect(
    center: np.ndarray, scale_point: np.ndarray, image_width: int, image_height: int
) -> tuple[float, ...] | None:
    """The compiled region of two alignment points (raw rect, its enlarged size, the object scale), or None
    where the numpy code must run (no kernels, or image sizes that are not ints)."""
    kernels = native_kernels()
    sizes_are_ints = isinstance(image_width, int | np.integer) and isinstance(image_height, int | np.integer)
    if kernels is None or not sizes_are_ints:
        return None
    return tuple(
        kernels.alignment_rect(
            center[0], center[1], scale_point[0], scale_point[1], int(image_width), int(image_height), ROI_SCALE
        )
    )


def rect_corners(rect: PixelRect) -> np.ndarray:
    """(4, 2) corners of a pixel rectangle: top-left, top-right, bottom-right, bottom-left
    as seen in the upright crop."""
    c, s = math.cos(rect.rotation), math.sin(rect.rotation)
    half = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]]) * (rect.width, rect.height)
    rot = np.array([[c, -s], [s, c]])
    return half @ rot.T + (rect.x_center, rect.y_center)


def rect_iou(a: NormRect, b: NormRect, image_width: int, image_height: int) -> float:
    """Intersection over union of two rotated regions, by area in pixels."""
    import cv2

    pa, pb = a.to_pixels(image_width, image_height), b.to_pixels(image_width, image_height)
    area_a, area_b = pa.width * pa.height, pb.width * pb.height
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter, _ = cv2.intersectConvexConvex(rect_corners(pa).astype(np.float32), rect_corners(pb).astype(np.float32))
    return float(inter) / (area_a + area_b - float(inter))
