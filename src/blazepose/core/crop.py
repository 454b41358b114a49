"""Cropping a rotated region of an image into a model's input tensor."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol, cast

import cv2
import numpy as np

from blazepose.core.float32 import f32
from blazepose.core.native import native_kernels
from blazepose.core.roi import PixelRect

ZERO = cv2.BORDER_CONSTANT
REPLICATE = cv2.BORDER_REPLICATE


@dataclass(frozen=True)
class CropRegion:
    """Where a model input was cut from an image, to map results back.

    Attributes:
        rect: The region actually sampled, in pixels, after padding to the
            tensor's aspect ratio.
        padding: ``left, top, right, bottom`` letterbox padding, as fractions
            of the tensor.
    """

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


class Cropper:
    """Samples rotated regions of images into a square float tensor, reusing
    its buffers from call to call.

    Each region is first letterboxed to a square; its corners map to the
    tensor's corners, with bilinear sampling, and the values 0..255 are
    mapped linearly onto ``value_range``. The compiled kernel does it in one
    pass when the package was built with it; the numpy and OpenCV path gives
    the same values. Not safe to share between threads. With ``threads`` above
    one the compiled kernel keeps helper threads for the crop's bands of rows:
    :meth:`prepare` just before a crop has them running when it comes, and
    :meth:`close` stops them (the crop then runs on the caller alone).

    Args:
        size: Output side.
        value_range: ``(low, high)`` that 0 and 255 map to.
        border: ``ZERO`` or ``REPLICATE``, for samples outside the image.
        native: Whether to use the compiled kernel: None uses it when built.
        threads: Threads the compiled kernel may split a crop's rows over, the caller's included (same
            values whatever the number; an engine's own thread count, since a crop runs while the
            engine's threads wait).
        helpers: Helper threads to share with other croppers (see :func:`crop_helpers`), used
            instead of ``threads`` and not closed by :meth:`close`.

    Raises:
        ImportError: ``native=True`` and the kernel was not built.
    """

    def __init__(
        self,
        size: int,
        value_range: tuple[float, float],
        border: int,
        native: bool | None = None,
        threads: int = 1,
        helpers: CropHelpers | None = None,
    ) -> None:
        if size < 1:
            raise ValueError(f"crop size must be positive, got {size}")
        if not (isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1):
            raise ValueError(f"crop threads must be an int >= 1, got {threads!r}")
        if border not in (ZERO, REPLICATE):
            raise ValueError(f"border must be ZERO or REPLICATE, got {border!r}")
        self.size = size
        self.border = border
        self.threads = threads if helpers is None else helpers.threads
        self._kernel = native_kernels(native)
        self._owns_helpers = helpers is None
        self._helpers = crop_helpers(threads, self._kernel) if helpers is None else helpers
        low, high = value_range
        # For low == 0 the exact product rounded once to float32 is what the
        # table holds, and one multiply is faster than a lookup.
        self._scale = f32((high - low) / 255.0) if low == 0.0 else None
        self._table = value_table(low, high)
        self._maps: FixedPointMaps | None = None
        self._pixels: np.ndarray | None = None
        self._tensor = np.empty((1, size, size, 3), np.float32)
        self._corners = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)

    def prepare(self) -> None:
        """Says that a crop comes soon: the helper threads wait for it spinning (for 0.5 ms at most)
        rather than asleep, so that it need not wake them (tens of microseconds on a virtual machine).
        Only a hint: nothing else changes."""
        if self._helpers is not None:
            self._helpers.wake()

    def close(self) -> None:
        """Stops its own helper threads (not shared ones); crops still work, on the calling thread alone."""
        if self._helpers is not None and self._owns_helpers:
            self._helpers.close()

    def __call__(self, image: np.ndarray, rect: PixelRect) -> tuple[np.ndarray, CropRegion]:
        """Crops one region of an RGB uint8 image.

        Args:
            image: (H, W, 3) uint8.
            rect: Region in pixels.

        Returns:
            The (1, size, size, 3) float32 tensor, which is this cropper's
            buffer and is overwritten by the next call, and the region.
        """
        return self._tensor, self.crop_into(image, rect, self._tensor)

    def crop_into(self, image: np.ndarray, rect: PixelRect, out: np.ndarray) -> CropRegion:
        """Crops one region of an RGB uint8 image into ``out``, such as an engine's own input buffer.

        Args:
            image: (H, W, 3) uint8.
            rect: Region in pixels.
            out: C-contiguous float32 array of ``size * size * 3`` values
                (``(1, size, size, 3)`` or ``(size, size, 3)``).

        Returns:
            The region.
        """
        size = self.size
        if out.dtype != np.float32 or out.size != size * size * 3 or not out.flags.c_contiguous:
            raise ValueError(f"out must be C-contiguous float32 of {size}x{size}x3, got {out.dtype} {out.shape}")
        padded, padding = pad_to_aspect(rect, size, size)
        src = box_points(padded)
        transform = cv2.getPerspectiveTransform(src, self._corners)
        if self._kernel is not None and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
            _, inverse = cv2.invert(transform)
            self._kernel.warp_to_tensor(
                image, inverse, size, self.border == ZERO, self._table, out, True, self._helpers
            )
            return CropRegion(padded, padding)
        if self._maps is None:
            self._maps = FixedPointMaps(size)
        pixels = self._pixels
        if pixels is None or pixels.shape[2:] != image.shape[2:] or pixels.dtype != image.dtype:
            pixels = self._pixels = np.empty((size, size, *image.shape[2:]), image.dtype)
        warp_bilinear_fixed_point(image, transform, size, self.border, self._maps, pixels)
        target = out.reshape(size, size, 3)
        if self._scale is not None:
            np.multiply(pixels, self._scale, out=target, dtype=np.float32)
        else:
            np.take(self._table, pixels, out=target)
        return CropRegion(padded, padding)


class CropHelpers(Protocol):
    """Helper threads of the compiled crop (``blazepose.core._native.CropHelpers``)."""

    threads: int
    started: int
    closed: bool

    def wake(self) -> None: ...

    def close(self) -> None: ...


def crop_helpers(threads: int, kernel: ModuleType | None) -> CropHelpers | None:
    """Helper threads for croppers that split their rows over ``threads`` threads (the caller's
    included), started at the first crop; None where one thread or no compiled kernel."""
    if kernel is None or threads < 2:
        return None
    return cast(CropHelpers, kernel.CropHelpers(threads))


def crop_rect(
    image: np.ndarray,
    rect: PixelRect,
    size: int,
    value_range: tuple[float, float],
    border: int,
    native: bool | None = None,
) -> tuple[np.ndarray, CropRegion]:
    """Samples a rotated region of an RGB uint8 image into a new square float
    tensor; see :class:`Cropper`, which reuses its buffers.

    Returns:
        The (1, size, size, 3) float32 tensor and the region.
    """
    return Cropper(size, value_range, border, native)(image, rect)


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
# Fixed-point positions (1/32 pixel) below this size are exact in float32.
_FLOAT_EXACT = float(1 << 23)
_INT32 = (-float(1 << 31), float((1 << 31) - 1))


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


def warp_bilinear_fixed_point(
    image: np.ndarray,
    transform: np.ndarray,
    size: int,
    border: int,
    maps: FixedPointMaps | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
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
        maps: Map buffers of this size to reuse (new ones if None).
        out: Array of the output's shape and the image's type to write into.
    """
    if maps is None:
        maps = FixedPointMaps(size)
    elif maps.size != size:
        raise ValueError(f"maps are for outputs of {maps.size} pixels, not {size}")
    coords, fractions = maps.compute(transform)
    return cv2.remap(image, coords, fractions, cv2.INTER_LINEAR, dst=out, borderMode=border, borderValue=0)


class FixedPointMaps:
    """The source position of each output pixel, as OpenCV 3 and 4's
    ``warpPerspective`` computes it, in ``cv2.remap``'s fixed-point form,
    for outputs of one size; buffers are kept from call to call.

    Args:
        size: Output side.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        # OpenCV walks the output in tiles 64 pixels wide: each row of a tile
        # starts from the tile's first column, and the same sums in the same
        # order give the same roundings. The tile bases are computed once per
        # row and tile, then the in-tile steps are broadcast over them.
        tiles = -(-size // _TILE_WIDTH)
        self._starts = np.arange(tiles, dtype=np.float64) * _TILE_WIDTH
        self._steps = np.arange(_TILE_WIDTH, dtype=np.float64)
        self._rows = np.arange(size, dtype=np.float64)[:, None]
        self._planes = np.empty((3, size, tiles, _TILE_WIDTH), np.float64)
        self._float = np.empty((2, size, size), np.float32)
        self._coords = np.empty((size, size, 2), np.int16)
        self._fractions = np.empty((size, size), np.uint16)

    def compute(self, transform: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Computes the maps for a transform.

        Args:
            transform: (3, 3) map from source to output pixels.

        Returns:
            ``(size, size, 2)`` int16 whole source pixels ``x, y``
            (saturated) and ``(size, size)`` uint16 fractions,
            ``32 * (y % 32) + x % 32`` in 1/32 pixel. Both are this object's
            buffers, overwritten by the next call.
        """
        size = self.size
        _, inv = cv2.invert(transform.astype(np.float64))
        for r in range(3):
            base = (inv[r, 0] * self._starts + inv[r, 1] * self._rows) + inv[r, 2]
            np.add(base[:, :, None], inv[r, 0] * self._steps, out=self._planes[r])
        x, y, w = (plane.reshape(size, -1)[:, :size] for plane in self._planes)
        with np.errstate(divide="ignore"):
            scale = np.divide(INTER_TAB_SIZE, w, out=w)
        if not np.isfinite(scale).all():  # OpenCV maps a point at infinity to 0
            scale[~np.isfinite(scale)] = 0.0
        for v, out in zip((x, y), self._float, strict=True):
            fixed = np.rint(np.multiply(v, scale, out=v), out=v)
            if not (-_FLOAT_EXACT < fixed.min() and fixed.max() < _FLOAT_EXACT):
                _fold_far_positions(fixed)
            # Whole 1/32 steps below 2**23 are exact in float32, and OpenCV
            # turns float maps into fixed point by the same rounding.
            np.multiply(fixed, 1.0 / INTER_TAB_SIZE, out=out, casting="same_kind")
        cv2.convertMaps(self._float[0], self._float[1], cv2.CV_16SC2, dstmap1=self._coords, dstmap2=self._fractions)
        return self._coords, self._fractions


def _fold_far_positions(fixed: np.ndarray) -> None:
    """Brings fixed-point positions far outside any image into float32's exact
    range without changing what remap sees: the whole part saturates to int16
    either way, and the fraction (the value modulo 32) is kept."""
    np.clip(fixed, *_INT32, out=fixed)  # OpenCV clamps to int first
    far = np.abs(fixed) >= _FLOAT_EXACT
    fraction = np.mod(fixed[far], INTER_TAB_SIZE)
    fixed[far] = np.copysign(float(1 << 21), fixed[far]) + fraction
