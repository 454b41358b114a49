"""A minimal stand-in for MediaPipe Tasks' ``mp.Image``."""

from __future__ import annotations

import enum

import numpy as np


class ImageFormat(enum.Enum):
    """Pixel formats: ``SRGB`` for RGB uint8 images, ``VEC32F1`` for float masks."""

    SRGB = 1
    VEC32F1 = 2


class Image:
    """An image as MediaPipe Tasks passes them: ``Image(image_format=ImageFormat.SRGB, data=rgb)``.

    ``numpy_view()`` returns the pixels, read-only, without a copy.
    """

    def __init__(self, image_format: ImageFormat, data: np.ndarray) -> None:
        if not isinstance(image_format, ImageFormat):
            raise TypeError(f"image_format must be an ImageFormat, got {image_format!r}")
        if not isinstance(data, np.ndarray):
            raise TypeError(f"data must be a numpy array, got {type(data).__name__}")
        self.image_format = image_format
        self._data = data

    @property
    def width(self) -> int:
        return int(self._data.shape[1])

    @property
    def height(self) -> int:
        return int(self._data.shape[0])

    def numpy_view(self) -> np.ndarray:
        view = self._data.view()
        view.flags.writeable = False
        return view

    @classmethod
    def create_from_file(cls, path: str) -> Image:
        """Reads an image file as RGB (ValueError when it cannot be decoded)."""
        from blazepose.io.photos import read_photo

        return cls(ImageFormat.SRGB, read_photo(str(path)))
