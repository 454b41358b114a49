"""The vectorised crop gives the scalar kernel's and the numpy path's bytes.

The compiled ``warp_to_tensor`` takes eight pixels at a time with AVX2 where
the CPU has it (``simd=True``, the default) and keeps its scalar code for
other CPUs and for ``simd=False``; ``Cropper(native=False)`` is the numpy
and OpenCV path. All three must write the same bytes for any region.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from blazepose.core.crop import REPLICATE, ZERO, Cropper, box_points, pad_to_aspect, value_table
from blazepose.core.native import native_kernels
from blazepose.core.roi import PixelRect

kernels = native_kernels()
needs_kernels = pytest.mark.skipif(kernels is None, reason="blazepose.core._native was not built (no C compiler)")
VALUE_RANGES = [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0), (0.25, 0.5)]


def _inverse(rect: PixelRect, size: int) -> np.ndarray:
    """The output-to-source map Cropper hands the kernel."""
    padded, _ = pad_to_aspect(rect, size, size)
    dst = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
    _, inverse = cv2.invert(cv2.getPerspectiveTransform(box_points(padded), dst))
    return inverse


def _image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Noise with some smooth structure, so that neighbouring samples differ in every way."""
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.addWeighted(noise, 0.5, cv2.GaussianBlur(noise, (5, 5), 0), 0.5, 0) if min(height, width) > 4 else noise


def _random_rect(rng: np.random.Generator, height: int, width: int, case: int) -> PixelRect:
    longest = max(height, width)
    if case % 7 == 0:
        side = rng.uniform(0.5, 8)  # a few pixels: every sample between the same neighbours
    elif case % 11 == 0:
        side = rng.uniform(1e4, 1e7)  # far beyond the image and int16
    else:
        side = rng.uniform(0.05, 2.5) * longest
    return PixelRect(
        rng.uniform(-0.5, 1.5) * width,  # often partly or wholly outside
        rng.uniform(-0.5, 1.5) * height,
        side,
        side * rng.uniform(0.3, 3),
        rng.uniform(-7, 7) if case % 5 else rng.choice([0.0, np.pi / 2, -np.pi, np.pi / 4]),
    )


def _views(image: np.ndarray) -> list[np.ndarray]:
    """The image as the kernel may see it: contiguous, with padded or overlapping rows, upside down, and not
    packed RGB."""
    views = [image]
    if image.shape[1] > 4:
        views.append(image[:, 2:-1])  # rows longer than their pixels (packed pixels: the vector path)
    if image.shape[1] > 2:  # rows shorter than their pixels' bytes, each overlapping the next (scalar path)
        h, w = image.shape[:2]
        views.append(np.lib.stride_tricks.as_strided(image, (h, w, 3), (3 * w - 3, 3, 1), writeable=False))
    views.append(image[::-1])  # rows going up (scalar path)
    views.append(image[:, :, ::-1])  # channels backwards (scalar path)
    return views


@needs_kernels
def test_reports_which_vector_code_it_uses():
    assert kernels is not None
    assert kernels.simd_path() in ("avx2", "scalar")


@needs_kernels
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 5), (37, 61), (360, 640), (720, 1280)])
def test_vector_and_scalar_kernels_write_the_same_bytes(shape):
    assert kernels is not None
    rng = np.random.default_rng(sum(shape))
    image = _image(rng, *shape)
    cases = 0
    for case in range(60):
        size = int(rng.choice([256, 224, 64, 33, 8, 1]))
        rect = _random_rect(rng, *shape, case)
        inverse = _inverse(rect, size)
        table = value_table(*VALUE_RANGES[case % len(VALUE_RANGES)])
        for source in _views(image):
            for zero_border in (False, True):
                vector = np.empty((size, size, 3), np.float32)
                scalar = np.full((size, size, 3), np.nan, np.float32)
                kernels.warp_to_tensor(source, inverse, size, zero_border, table, vector)
                kernels.warp_to_tensor(source, inverse, size, zero_border, table, scalar, False)
                assert vector.tobytes() == scalar.tobytes(), f"{shape} case {case}: {rect}, size {size}"
                cases += 1
    assert cases == 60 * len(_views(image)) * 2


@needs_kernels
def test_vector_crop_on_a_large_frame_matches_the_numpy_path():
    """Through Cropper, the compiled path (vectorised where it can be) against numpy and OpenCV, 4K frames included."""
    rng = np.random.default_rng(3)
    for shape, count in (((720, 1280), 16), ((2160, 3840), 4), ((5, 9), 8)):
        image = _image(rng, *shape)
        for case in range(count):
            size = (256, 224, 40)[case % 3]
            value_range = VALUE_RANGES[case % len(VALUE_RANGES)]
            border = (REPLICATE, ZERO)[case % 2]
            rect = _random_rect(rng, *shape, case)
            ours, region = Cropper(size, value_range, border, native=True)(image, rect)
            reference, reference_region = Cropper(size, value_range, border, native=False)(image, rect)
            assert ours.tobytes() == reference.tobytes(), f"{shape} case {case}: {rect}"
            assert region == reference_region


@pytest.mark.parametrize("native", [None, False])
def test_crop_into_a_buffer_writes_what_the_cropper_returns(native):
    if native is None and kernels is None:
        pytest.skip("blazepose.core._native was not built (no C compiler)")
    rng = np.random.default_rng(5)
    image = _image(rng, 90, 160)
    rect = PixelRect(70.0, 40.0, 80.0, 60.0, 0.4)
    cropper = Cropper(64, (0.0, 1.0), REPLICATE, native=native)
    tensor, region = cropper(image, rect)
    for shape in ((1, 64, 64, 3), (64, 64, 3)):
        out = np.full(shape, np.nan, np.float32)
        assert cropper.crop_into(image, rect, out) == region
        assert out.tobytes() == tensor.tobytes()
    with pytest.raises(ValueError, match="C-contiguous float32 of 64x64x3"):
        cropper.crop_into(image, rect, np.empty((64, 64, 3), np.float64))
    with pytest.raises(ValueError, match="C-contiguous float32 of 64x64x3"):
        cropper.crop_into(image, rect, np.empty((64, 64, 6), np.float32)[:, :, :3])
