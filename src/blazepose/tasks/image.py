"""A minimal stand-in for MediaPipe Tasks' ``mp.Image``."""

from __future__ import annotations

import enum

import numpy as np


class ImageFormat(enum.IntEnum):
    """Pixel formats, with MediaPipe's names and numbers. The landmarker takes ``SRGB`` (RGB uint8),
    ``SRGBA`` (its alpha ignored) and ``GRAY8``; masks come as ``VEC32F1``."""

    UNKNOWN = 0
    SRGB = 1
    SRGBA = 2
    GRAY8 = 3
    GRAY16 = 4
    SRGB48 = 7
    SRGBA64 = 8
    VEC32F1 = 9
    VEC32F2 = 12
    VEC32F4 = 13


class Image:
    """An image as MediaPipe Tasks passes them: ``Image(image_format=ImageFormat.SRGB, data=rgb)``.

    As MediaPipe's, it holds a copy of ``data``: changing the array afterwards (a
    reused frame buffer) does not change the image. ``numpy_view()`` returns
    the pixels, read-only, without a copy; a mask (``VEC32F1``) has a last
    axis of one channel, ``(H, W, 1)``, as MediaPipe 1.2.2 gives it.
    """

    def __init__(self, image_format: ImageFormat | int, data: np.ndarray) -> None:
        if isinstance(image_format, bool) or not isinstance(image_format, int):
            raise TypeError(f"image_format must be an ImageFormat, got {image_format!r}")
        try:
            image_format = ImageFormat(image_format)
        except ValueError:
            raise ValueError(f"image_format {image_format!r} is none of MediaPipe's ImageFormat numbers") from None
        if not isinstance(data, np.ndarray):
            raise TypeError(f"data must be a numpy array, got {type(data).__name__}")
        self.image_format = image_format
        self._data = np.array(_checked(image_format, data), copy=True, order="C")

    @classmethod
    def _holding(cls, image_format: ImageFormat, data: np.ndarray) -> Image:
        """An image over ``data`` without a copy (the library's own arrays, which nothing changes after)."""
        image = cls.__new__(cls)
        image.image_format, image._data = image_format, data
        return image

    @property
    def width(self) -> int:
        return int(self._data.shape[1])

    @property
    def height(self) -> int:
        return int(self._data.shape[0])

    @property
    def channels(self) -> int:
        return int(self._data.shape[2]) if self._data.ndim == 3 else 1

    @property
    def step(self) -> int:
        """Bytes from one row to the next."""
        return int(self._data.strides[0])

    def numpy_view(self) -> np.ndarray:
        view = self._data.view()
        view.flags.writeable = False
        return view

    @classmethod
    def create_from_file(cls, path: str) -> Image:
        """Reads an image file as RGB (ValueError when it cannot be decoded)."""
        from blazepose.io.photos import read_photo

        return cls._holding(ImageFormat.SRGB, read_photo(str(path)))


# What each format's data must be, as MediaPipe's Image checks it: dtype and the channel counts taken.
_SHAPES = {
    ImageFormat.SRGB: (np.uint8, (3, 4)),  # (a fourth channel is dropped; MediaPipe 1.2.2 misreads such data)
    ImageFormat.SRGBA: (np.uint8, (4,)),
    ImageFormat.GRAY8: (np.uint8, (None, 1)),
    ImageFormat.VEC32F1: (np.float32, (None, 1)),
}


def _checked(image_format: ImageFormat, data: np.ndarray) -> np.ndarray:
    """``data`` as ``image_format`` holds it (SRGB of 4 channels: 3; a VEC32F1 mask: (H, W, 1)), or a
    ValueError saying what the format takes."""
    if image_format not in _SHAPES:
        return data
    dtype, channels = _SHAPES[image_format]
    found = data.shape[2] if data.ndim == 3 else (None if data.ndim == 2 else -1)
    if data.dtype != dtype or found not in channels:
        takes = " or ".join("(H, W)" if c is None else f"(H, W, {c})" for c in channels)
        raise ValueError(
            f"{image_format.name} data must be {np.dtype(dtype).name} {takes}, got {data.dtype} {data.shape}"
        )
    if image_format is ImageFormat.SRGB and found == 4:
        return data[..., :3]
    if image_format in (ImageFormat.VEC32F1, ImageFormat.GRAY8) and found is None:
        return data[..., None]  # (one channel: (H, W, 1), as MediaPipe holds it)
    return data
