"""Cropping a rotated region of an image into a model's input tensor."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from blazepose.float32 import f32
from blazepose.roi import PixelRect

ZERO = cv2.BORDER_CONSTANT
REPLICATE = cv2.BORDER_REPLICATE


@dataclass(frozen=True)
class Crop:
    """A model input cut from an image, with what is needed to map back.

    Attributes:
        tensor: (1, size, size, 3) float32 model input.
        rect: The region actually sampled, in pixels, after padding to the
            tensor's aspect ratio.
        padding: ``left, top, right, bottom`` letterbox padding, as fractions
            of the tensor.
    """

    tensor: np.ndarray
    rect: PixelRect
    padding: tuple[float, float, float, float]

    def tensor_to_image(self, image_width: int, image_height: int) -> np.ndarray:
        """(2, 3) affine map from normalized tensor coordinates to normalized
        image coordinates."""
        r = self.rect
        c, s = math.cos(r.rotation), math.sin(r.rotation)
        # Centre the unit square, scale to the rect, rotate, move to its centre.
        m = np.array(
            [
                [r.width * c, -r.height * s, r.x_center - 0.5 * r.width * c + 0.5 * r.height * s],
                [r.width * s, r.height * c, r.y_center - 0.5 * r.height * c - 0.5 * r.width * s],
            ]
        )
        return m / np.array([[image_width], [image_height]])


def pad_to_aspect(
    rect: PixelRect, out_width: int, out_height: int
) -> tuple[PixelRect, tuple[float, float, float, float]]:
    """Grows a rectangle to the output's aspect ratio (letterboxing).

    Returns:
        The grown rectangle and the ``left, top, right, bottom`` padding as
        fractions of the output.
    """
    if not (rect.width > 0 and rect.height > 0):
        raise ValueError(f"region must have a positive size, got {rect.width} x {rect.height}")
    # float32 arithmetic, as MediaPipe's ImageToTensorCalculator.
    width, height = f32(rect.width), f32(rect.height)
    out_aspect = f32(out_height) / f32(out_width)
    rect_aspect = height / width
    if out_aspect > rect_aspect:
        pad = float((f32(1) - rect_aspect / out_aspect) / f32(2))
        return rect._replace(height=float(width * out_aspect)), (0.0, pad, 0.0, pad)
    pad = float((f32(1) - out_aspect / rect_aspect) / f32(2))
    return rect._replace(width=float(height / out_aspect)), (pad, 0.0, pad, 0.0)


def crop_rect(
    image: np.ndarray,
    rect: PixelRect,
    size: int,
    value_range: tuple[float, float],
    border: int,
) -> Crop:
    """Samples a rotated region of an RGB uint8 image into a square float tensor.

    The region is first letterboxed to a square; its corners map to the
    tensor's corners, with bilinear sampling, and the values 0..255 are
    mapped linearly onto ``value_range``.

    Args:
        image: (H, W, 3) uint8.
        rect: Region in pixels.
        size: Output side.
        value_range: ``(low, high)`` that 0 and 255 map to.
        border: ``ZERO`` or ``REPLICATE``, for samples outside the image.
    """
    padded, padding = pad_to_aspect(rect, size, size)
    src = box_points(padded)
    dst = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
    transform = cv2.getPerspectiveTransform(src, dst)
    pixels = warp_bilinear_fixed_point(image, transform, size, border)
    low, high = value_range
    if low == 0.0:
        # The exact product rounded once to float32: what the table holds, faster.
        tensor = np.multiply(pixels, f32((high - low) / 255.0), dtype=np.float32)
    else:
        tensor = np.take(value_table(low, high), pixels)
    return Crop(tensor[None], padded, padding)


def value_table(low: float, high: float) -> np.ndarray:
    """(256,) float32 value of each pixel level 0..255 mapped linearly onto [low, high].

    The scale is a float and the product and sum are rounded once, as
    OpenCV's fused multiply-add ``convertTo`` does.
    """
    scale = np.float64(f32((high - low) / 255.0))
    return (np.arange(256, dtype=np.float64) * scale + np.float64(f32(low))).astype(np.float32)


INTER_BITS = 5
INTER_TAB_SIZE = 1 << INTER_BITS
_TILE_WIDTH = 64  # for outputs of at least 16 rows, as ours are
_INT32_LIMIT = float(np.iinfo(np.int32).max)


def box_points(rect: PixelRect) -> np.ndarray:
    """(4, 2) float32 corners of a rotated rectangle: bottom-left, top-left,
    top-right, bottom-right (as seen unrotated), in float32 arithmetic like
    OpenCV's ``RotatedRect::points`` with MediaPipe's degree conversion."""
    f = np.float32
    degrees = float(f(rect.rotation) * f(180.0)) / math.pi
    angle = float(f(degrees)) * math.pi / 180.0
    b = f(math.cos(angle)) * f(0.5)
    a = f(math.sin(angle)) * f(0.5)
    cx, cy, w, h = f(rect.x_center), f(rect.y_center), f(rect.width), f(rect.height)
    p0 = (cx - a * h - b * w, cy + b * h - a * w)
    p1 = (cx + a * h - b * w, cy - b * h - a * w)
    p2 = (f(2) * cx - p0[0], f(2) * cy - p0[1])
    p3 = (f(2) * cx - p1[0], f(2) * cy - p1[1])
    return np.array([p0, p1, p2, p3], np.float32)


def warp_bilinear_fixed_point(image: np.ndarray, transform: np.ndarray, size: int, border: int) -> np.ndarray:
    """Warps an image into a ``size x size`` output, bilinear, with the source
    positions quantized to 1/32 pixel.

    This is the sampling of OpenCV 3 and 4's ``warpPerspective`` (which
    MediaPipe uses), written as explicit fixed-point maps for ``cv2.remap``
    so that the result does not change with the installed OpenCV version
    (OpenCV 5 samples differently).

    Args:
        image: Source image.
        transform: (3, 3) map from source to output pixels.
        size: Output side.
        border: OpenCV border mode for samples outside the source.
    """
    _, inv = cv2.invert(transform.astype(np.float64))
    # OpenCV walks the output in tiles 64 pixels wide: each row of a tile
    # starts from the tile's first column, and the same sums in the same
    # order give the same roundings. The tile bases are computed once per
    # row and tile, then the in-tile steps are broadcast over them.
    tiles = -(-size // _TILE_WIDTH)
    starts = np.arange(tiles, dtype=np.float64) * _TILE_WIDTH
    steps = np.arange(_TILE_WIDTH, dtype=np.float64)
    rows = np.arange(size, dtype=np.float64)[:, None]

    def source(r: int) -> np.ndarray:
        base = (inv[r, 0] * starts + inv[r, 1] * rows) + inv[r, 2]
        return (base[:, :, None] + inv[r, 0] * steps).reshape(size, -1)[:, :size]

    x, y, w = source(0), source(1), source(2)
    with np.errstate(divide="ignore"):
        scale = INTER_TAB_SIZE / w
    if not w.all():  # OpenCV maps a point at infinity to 0
        scale[w == 0] = 0.0
    fx = np.rint(np.multiply(x, scale, out=x), out=x)
    fy = np.rint(np.multiply(y, scale, out=y), out=y)
    if not (_INT32_LIMIT > max(fx.max(), fy.max()) and -_INT32_LIMIT < min(fx.min(), fy.min())):
        np.clip(fx, -_INT32_LIMIT, _INT32_LIMIT, out=fx)
        np.clip(fy, -_INT32_LIMIT, _INT32_LIMIT, out=fy)
    ix, iy = fx.astype(np.int32), fy.astype(np.int32)
    coords = np.empty((size, size, 2), np.int16)
    for plane, values in ((0, ix >> INTER_BITS), (1, iy >> INTER_BITS)):
        if values.min() < -32768 or values.max() > 32767:
            np.clip(values, -32768, 32767, out=values)
        coords[..., plane] = values
    fractions = (((iy & (INTER_TAB_SIZE - 1)) << INTER_BITS) | (ix & (INTER_TAB_SIZE - 1))).astype(np.uint16)
    return cv2.remap(image, coords, fractions, cv2.INTER_LINEAR, borderMode=border, borderValue=0)
