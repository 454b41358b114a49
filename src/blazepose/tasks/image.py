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

    def __init__(self, image_format: ImageFormat, data: np.ndarray) -> None:
        if not isinstance(image_format, ImageFormat):
            raise TypeError(f"image_format must be an ImageFormat, got {image_format!r}")
        if not isinstance(data, np.ndarray):
            raise TypeError(f"data must be a numpy array, got {type(data).__name__}")
        self.image_format = image_format
        self._data = np.array(data, copy=True)

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
