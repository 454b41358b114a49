import math

import cv2
import numpy as np
import pytest

from blazepose.core.crop import REPLICATE, ZERO, crop_rect, pad_to_aspect, value_table, warp_bilinear_fixed_point
from blazepose.core.float32 import normalize_radians32 as normalize_radians
from blazepose.core.roi import (
    NormRect,
    PixelRect,
    enlarge_rect,
    object_scale,
    rect_from_alignment_points,
    rect_iou,
    roi_from_points,
)


def test_normalize_radians_wraps_into_half_open_interval():
    assert normalize_radians(math.pi) == pytest.approx(-math.pi)
    assert normalize_radians(3 * math.pi / 2) == pytest.approx(-math.pi / 2)
    assert normalize_radians(0.5) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("scale_point", "rotation"),
    [((0.5, 0.3), 0.0), ((0.7, 0.5), math.pi / 2), ((0.5, 0.7), -math.pi), ((0.3, 0.5), -math.pi / 2)],
)
def test_alignment_rect_rotation_makes_the_body_axis_point_up(scale_point, rotation):
    rect = rect_from_alignment_points(np.array([0.5, 0.5]), np.array(scale_point), 100, 100)
    assert rect.x_center == pytest.approx(0.5) and rect.y_center == pytest.approx(0.5)
    assert rect.width == pytest.approx(0.4) and rect.height == pytest.approx(0.4)
    assert rect.rotation == pytest.approx(rotation, abs=1e-6)


def test_alignment_rect_is_square_in_pixels_on_wide_images():
    rect = rect_from_alignment_points(np.array([0.5, 0.5]), np.array([0.5, 0.25]), 200, 100)
    assert rect.width * 200 == pytest.approx(50) and rect.height * 100 == pytest.approx(50)


def test_enlarge_squares_on_long_side_then_scales():
    rect = enlarge_rect(NormRect(0.5, 0.5, 0.2, 0.5, 0.1), 200, 100)
    assert rect.width * 200 == pytest.approx(50 * 1.25) and rect.height * 100 == pytest.approx(50 * 1.25)
    assert rect.rotation == pytest.approx(0.1)


def test_roi_and_object_scale_from_points():
    pts = np.array([[0.5, 0.5], [0.5, 0.3]])
    roi = roi_from_points(pts, 100, 100)
    assert roi.width == pytest.approx(0.5)
    assert object_scale(pts, 100, 100) == pytest.approx(40.0)


def test_rect_iou_of_rotated_rects():
    a = NormRect(0.5, 0.5, 0.2, 0.2, 0.0)
    assert rect_iou(a, a, 100, 100) == pytest.approx(1.0, abs=1e-5)
    assert rect_iou(a, a._replace(rotation=math.pi / 2), 100, 100) == pytest.approx(1.0, abs=1e-5)
    shifted = a._replace(x_center=0.6)
    assert rect_iou(a, shifted, 100, 100) == pytest.approx(1 / 3, abs=1e-4)
    assert rect_iou(a, a._replace(x_center=0.9), 100, 100) == 0.0


def test_pad_to_aspect_letterboxes():
    padded, padding = pad_to_aspect(PixelRect(50, 25, 100, 50, 0), 224, 224)
    assert padded.width == 100 and padded.height == 100
    assert padding == pytest.approx((0.0, 0.25, 0.0, 0.25))
    with pytest.raises(ValueError, match="positive size"):
        pad_to_aspect(PixelRect(0, 0, 0, 10, 0), 8, 8)


def test_value_table_maps_levels_to_range():
    # The float32 scale 2/255 makes level 255 land one float step above 1, as in MediaPipe.
    np.testing.assert_allclose(value_table(-1.0, 1.0)[[0, 128, 255]], [-1.0, 1 / 255, 1.0], rtol=0, atol=2e-7)
    assert value_table(0.0, 1.0)[0] == 0.0 and value_table(0.0, 1.0)[255] == 1.0
    assert value_table(0.0, 1.0).dtype == np.float32


def test_axis_aligned_crop_is_the_region_resized():
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    tensor, crop = crop_rect(image, PixelRect(32, 32, 32, 32, 0.0), 32, (0.0, 255.0), ZERO)
    np.testing.assert_allclose(tensor[0], image[16:48, 16:48], atol=0.5)
    assert crop.padding == (0.0, 0.0, 0.0, 0.0)


def test_rotated_crop_turns_the_image():
    image = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    tensor, _ = crop_rect(image, PixelRect(20, 20, 40, 40, math.pi / 2), 40, (0.0, 255.0), REPLICATE)
    # A quarter turn clockwise: the crop's top row runs down the image's right column.
    np.testing.assert_allclose(tensor[0, 0, 5:35], image[5:35, 39], atol=0.5)


def test_tensor_to_image_maps_crop_corners_to_rect_corners():
    image = np.zeros((100, 200, 3), np.uint8)
    rect = PixelRect(80, 40, 30, 30, 0.3)
    _, crop = crop_rect(image, rect, 16, (0.0, 1.0), ZERO)
    m = crop.tensor_to_image(200, 100)
    top_left = m @ [0, 0, 1] * [200, 100]
    c, s = math.cos(0.3), math.sin(0.3)
    expected = np.array([80, 40]) + np.array([[c, -s], [s, c]]) @ [-15, -15]
    np.testing.assert_allclose(top_left, expected, atol=1e-6)


def _bilinear_reference(image, inverse, size):
    """Plain float bilinear sampling through ``inverse`` (output -> source), zero border."""
    h, w = image.shape[:2]
    out = np.zeros((size, size, image.shape[2]))
    for y in range(size):
        for x in range(size):
            sx, sy, sw = inverse @ [x, y, 1]
            sx, sy = sx / sw, sy / sw
            x0, y0 = math.floor(sx), math.floor(sy)
            fx, fy = sx - x0, sy - y0
            acc = 0.0
            for dy, wy in ((0, 1 - fy), (1, fy)):
                for dx, wx in ((0, 1 - fx), (1, fx)):
                    yy, xx = y0 + dy, x0 + dx
                    if 0 <= yy < h and 0 <= xx < w:
                        acc = acc + wy * wx * image[yy, xx].astype(float)
            out[y, x] = acc
    return out


def test_fixed_point_warp_is_bilinear_sampling_to_within_quantization():
    rng = np.random.default_rng(2)
    image = cv2.GaussianBlur(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8), (5, 5), 0)
    src = cv2.boxPoints(((15.3, 14.1), (20.0, 20.0), 25.0)).astype(np.float32)
    dst = np.array([[0, 16], [0, 0], [16, 0], [16, 16]], np.float32)
    transform = cv2.getPerspectiveTransform(src, dst)
    ours = warp_bilinear_fixed_point(image, transform, 16, ZERO).astype(float)
    ref = _bilinear_reference(image, np.linalg.inv(transform), 16)
    # Positions are quantized to 1/32 pixel and weights to 1/32768: a level or two.
    assert np.abs(ours - ref)[2:-2, 2:-2].max() <= 2.0
