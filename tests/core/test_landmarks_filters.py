import math

import numpy as np
import pytest

from blazepose.core.filters import (
    IMAGE_LANDMARK_FILTER,
    WORLD_LANDMARK_FILTER,
    LandmarkSmoother,
    LowPassFilter,
    OneEuroFilter,
)
from blazepose.core.landmarks import (
    decode_landmarks,
    decode_world_landmarks,
    project_to_image,
    refine_with_heatmap,
    remove_letterbox,
)
from blazepose.core.roi import NormRect
from blazepose.core.segmentation import mask_to_image, smooth_mask


def test_decode_landmarks_normalizes_and_activates():
    raw = np.zeros((39, 5), np.float32)
    raw[3] = [128, 64, 25.6, 0.0, 100.0]
    lm = decode_landmarks(raw.ravel())
    np.testing.assert_allclose(lm[3], [0.5, 0.25, 0.1, 0.5, 1.0], rtol=1e-6)


def _heatmap_with_peak(n, peak_rc, logit=6.0):
    hm = np.full((64, 64, n), -12.0, np.float32)
    r, c = peak_rc
    hm[r, c, :] = logit
    return hm


def test_refinement_moves_landmark_to_confident_heatmap_peak():
    lm = np.zeros((2, 5), np.float32)
    lm[:, :2] = (30.2 / 64, 20.7 / 64)
    hm = _heatmap_with_peak(2, (22, 32))
    out = refine_with_heatmap(lm, hm)
    # Almost all the weight is on cell (row 22, col 32); no half-cell offset.
    np.testing.assert_allclose(out[:, 0] * 64, 32, atol=0.01)
    np.testing.assert_allclose(out[:, 1] * 64, 22, atol=0.01)


def test_refinement_keeps_landmark_when_heatmap_is_unsure_or_peak_far():
    lm = np.zeros((1, 5), np.float32)
    lm[0, :2] = (30.5 / 64, 20.5 / 64)
    weak = _heatmap_with_peak(1, (20, 30), logit=-0.5)  # sigmoid < 0.5 everywhere
    np.testing.assert_array_equal(refine_with_heatmap(lm, weak), lm)
    far = _heatmap_with_peak(1, (60, 60))
    np.testing.assert_array_equal(refine_with_heatmap(lm, far), lm)


def test_refinement_ignores_landmarks_outside_the_heatmap():
    lm = np.array([[1.2, 0.5, 0, 1, 1], [-0.5, 0.5, 0, 1, 1]], np.float32)
    np.testing.assert_array_equal(refine_with_heatmap(lm, _heatmap_with_peak(2, (32, 63))), lm)


def test_remove_letterbox():
    lm = np.array([[0.5, 0.25, 0.1, 1, 1]], np.float32)
    out = remove_letterbox(lm, (0.25, 0.0, 0.25, 0.0))
    np.testing.assert_allclose(out[0, :3], [0.5, 0.25, 0.2])


def test_projection_rotates_scales_and_moves():
    lm = np.array([[0.5, 0.0, 0.1, 1, 1]], np.float32)  # top centre of the crop
    roi = NormRect(0.4, 0.6, 0.2, 0.4, math.pi / 2)
    out = project_to_image(lm, roi)
    # Rotated a quarter turn clockwise, "up" in the crop points right in the image.
    np.testing.assert_allclose(out[0, :3], [0.4 + 0.5 * 0.2, 0.6, 0.1 * 0.2], atol=1e-6)


def test_world_landmarks_rotate_about_z():
    raw = np.zeros((39, 3), np.float32)
    raw[0] = [1.0, 0.0, 0.3]
    world = decode_world_landmarks(raw.ravel(), math.pi / 2)
    np.testing.assert_allclose(world[0], [0.0, 1.0, 0.3], atol=1e-6)


def test_low_pass_filter():
    f = LowPassFilter(0.1)
    assert f.apply(np.array([10.0]))[0] == pytest.approx(10.0)
    assert f.apply(np.array([0.0]))[0] == pytest.approx(9.0)
    f.reset()
    assert f.apply(np.array([5.0]))[0] == pytest.approx(5.0)


def test_one_euro_passes_first_value_and_holds_a_constant():
    f = OneEuroFilter(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0)
    x = np.array([3.0, -2.0], np.float32)
    for t in range(1, 6):
        np.testing.assert_allclose(f.apply(x, t * 33333), x)


def test_one_euro_smooths_jitter_but_follows_fast_motion():
    rng = np.random.default_rng(0)
    slow = OneEuroFilter(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0)
    noisy = 100 + rng.normal(0, 1.0, 60).astype(np.float32)
    out = np.array([slow.apply(np.array([v]), (i + 1) * 33333, 1 / 200)[0] for i, v in enumerate(noisy)])
    assert out[20:].std() < 0.75 * noisy[20:].std()
    fast = OneEuroFilter(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0)
    ramp = np.arange(60, dtype=np.float32) * 10
    out = np.array([fast.apply(np.array([v]), (i + 1) * 33333, 1 / 200)[0] for i, v in enumerate(ramp)])
    assert abs(out[-1] - ramp[-1]) < 0.2 * 10 * 60


def test_one_euro_ignores_non_increasing_timestamps():
    f = OneEuroFilter(0.05, 80.0, 1.0)
    f.apply(np.array([1.0]), 100)
    f.apply(np.array([2.0]), 200)
    state = f._x.value.copy()
    assert f.apply(np.array([50.0]), 200)[0] == 50.0
    np.testing.assert_array_equal(f._x.value, state)


def test_one_euro_rejects_bad_parameters():
    with pytest.raises(ValueError, match="must be > 0"):
        OneEuroFilter(0.0, 1.0, 1.0)


def test_smoother_scales_by_object_size():
    """Same motion relative to the body gives the same filtered output."""
    rng = np.random.default_rng(3)
    path = np.cumsum(rng.normal(0, 0.02, (30, 1, 3)), axis=0).astype(np.float32)
    outs = []
    for scale in (100.0, 400.0):
        sm = LandmarkSmoother(IMAGE_LANDMARK_FILTER)
        outs.append(
            np.array([sm.apply(p * scale, np.ones(1), (i + 1) * 33333, scale)[0] / scale for i, p in enumerate(path)])
        )
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-4)
    with pytest.raises(ValueError, match="object scale"):
        LandmarkSmoother(IMAGE_LANDMARK_FILTER).apply(path[0], np.ones(1), 1)
    world = LandmarkSmoother(WORLD_LANDMARK_FILTER)
    xyz, vis = world.apply(path[0], np.array([0.7]), 1)
    np.testing.assert_allclose(xyz, path[0])
    assert vis[0] == pytest.approx(0.7)


def test_mask_smoothing_matches_mediapipe_calculator():
    # Values observed from MediaPipe's SegmentationSmoothingCalculator (ratio 0.7).
    prev = np.full((2, 2), 0.9, np.float32)
    second = smooth_mask(np.full((2, 2), 0.5, np.float32), prev)
    np.testing.assert_allclose(second, 0.78, atol=1e-6)
    third = smooth_mask(np.full((2, 2), 0.45, np.float32), second)
    np.testing.assert_allclose(third, 0.6777162, atol=1e-6)
    certain = smooth_mask(np.array([[0.0, 1.0]], np.float32), np.array([[1.0, 0.0]], np.float32))
    np.testing.assert_allclose(certain, [[0.0, 1.0]], atol=1e-4)


def test_mask_is_warped_into_the_image():
    logits = np.full((4, 4), 10.0, np.float32)
    # The crop covers the image's left half exactly.
    tensor_to_image = np.array([[0.5, 0, 0], [0, 1.0, 0]])
    mask = mask_to_image(logits, tensor_to_image, 8, 4)
    assert mask.shape == (4, 8) and mask.dtype == np.float32
    assert mask[:, :3].min() > 0.99 and mask[:, 5:].max() == 0.0
