import numpy as np
import pytest

from blazepose.core.anchors import generate_anchors
from blazepose.core.detection import (
    Detections,
    box_iou,
    decode_and_suppress,
    decode_detections,
    remove_letterbox,
    weighted_nms,
)
from blazepose.core.native import native_kernels

needs_kernels = pytest.mark.skipif(native_kernels() is None, reason="blazepose.core._native was not built")


def test_anchor_grid_layout():
    anchors = generate_anchors()
    assert anchors.shape == (2254, 2)
    # 28x28 cells with 2 anchors, then 14x14 with 2, then 7x7 with 6.
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[1], anchors[0])
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[2 * 28], [0.5 / 28, 1.5 / 28])
    start14 = 28 * 28 * 2
    np.testing.assert_allclose(anchors[start14], [0.5 / 14, 0.5 / 14])
    start7 = start14 + 14 * 14 * 2
    np.testing.assert_allclose(anchors[start7 : start7 + 6], [[0.5 / 7, 0.5 / 7]] * 6)
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def _raw(anchors, index, box_px, kps_px, logit):
    raw_boxes = np.zeros((len(anchors), 12), np.float32)
    raw_scores = np.full((len(anchors),), -10.0, np.float32)
    raw_boxes[index, :4] = box_px
    raw_boxes[index, 4:] = np.ravel(kps_px)
    raw_scores[index] = logit
    return raw_boxes, raw_scores


def test_decode_places_box_and_keypoints_relative_to_anchor():
    anchors = generate_anchors()
    i = 500
    raw_boxes, raw_scores = _raw(anchors, i, [22.4, -11.2, 44.8, 89.6], [[0, 0], [22.4, 0], [0, 22.4], [-22.4, 0]], 2.0)
    dets = decode_detections(raw_boxes, raw_scores, anchors, min_score=0.5)
    assert len(dets) == 1
    cx, cy = anchors[i] + [0.1, -0.05]
    np.testing.assert_allclose(dets.boxes[0], [cx - 0.1, cy - 0.2, cx + 0.1, cy + 0.2], atol=1e-6)
    np.testing.assert_allclose(dets.keypoints[0, 1], anchors[i] + [0.1, 0.0], atol=1e-6)
    np.testing.assert_allclose(dets.scores[0], 1 / (1 + np.exp(-2.0)), rtol=1e-6)


def test_decode_drops_low_scores_and_negative_sizes():
    anchors = generate_anchors()
    raw_boxes, raw_scores = _raw(anchors, 10, [0, 0, -5, 5], np.zeros((4, 2)), 3.0)
    assert len(decode_detections(raw_boxes, raw_scores, anchors, 0.5)) == 0
    raw_boxes, raw_scores = _raw(anchors, 10, [0, 0, 5, 5], np.zeros((4, 2)), -1.0)
    assert len(decode_detections(raw_boxes, raw_scores, anchors, 0.5)) == 0
    # Logits far beyond the clip still decode to a valid probability.
    raw_boxes, raw_scores = _raw(anchors, 10, [0, 0, 5, 5], np.zeros((4, 2)), 1e6)
    assert decode_detections(raw_boxes, raw_scores, anchors, 0.5).scores[0] == pytest.approx(1.0)


def test_box_iou():
    box = np.array([0, 0, 2, 2], np.float32)
    others = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6]], np.float32)
    np.testing.assert_allclose(box_iou(box, others), [1 / 7, 1.0, 0.0], rtol=1e-6)


def test_weighted_nms_averages_overlapping_detections_by_score():
    boxes = np.array([[0, 0, 1, 1], [0.1, 0, 1.1, 1], [3, 3, 4, 4]], np.float32)
    kps = np.zeros((3, 4, 2), np.float32)
    kps[:, 0, 0] = [0.0, 1.0, 5.0]
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    out = weighted_nms(Detections(boxes, kps, scores))
    assert len(out) == 2
    np.testing.assert_allclose(out.scores, [0.9, 0.7])  # the best score is kept
    np.testing.assert_allclose(out.boxes[0, 0], 0.6 * 0.1 / 1.5, rtol=1e-6)
    np.testing.assert_allclose(out.keypoints[0, 0, 0], 0.6 / 1.5, rtol=1e-6)
    np.testing.assert_allclose(out.boxes[1], boxes[2])


def test_weighted_nms_of_nothing():
    assert len(weighted_nms(Detections.empty())) == 0


def test_remove_letterbox_maps_padded_square_back_to_image():
    # A 2:1 image letterboxed into a square has a quarter of padding top and bottom.
    dets = Detections(
        np.array([[0.0, 0.25, 1.0, 0.75]], np.float32),
        np.tile(np.array([[0.5, 0.5]], np.float32), (1, 4, 1)),
        np.array([1.0], np.float32),
    )
    out = remove_letterbox(dets, (0.0, 0.25, 0.0, 0.25))
    np.testing.assert_allclose(out.boxes[0], [0, 0, 1, 1], atol=1e-6)
    np.testing.assert_allclose(out.keypoints[0, 0], [0.5, 0.5], atol=1e-6)


def test_detections_shape_check():
    with pytest.raises(ValueError, match="inconsistent"):
        Detections(np.zeros((2, 4)), np.zeros((1, 4, 2)), np.zeros(2))


@pytest.mark.parametrize("native", [False, pytest.param(True, marks=needs_kernels)])
@pytest.mark.parametrize("min_score", [0.0, 1e-50, 0.3, 0.5, 0.75, 0.9999, 0.99999994, 1.0, 1.5])
def test_decode_keeps_the_anchors_and_scores_of_the_float32_sigmoid(min_score, native):
    # The compiled pass and the numpy stages must both keep the anchors and scores of the float32 sigmoid of
    # every logit, logits an ulp either side of the threshold included, and decode the boxes and keypoints in
    # float32 in the same steps.
    from blazepose.core.float32 import f32, sigmoid32

    anchors = generate_anchors()
    rng = np.random.default_rng(7)
    n = len(anchors)
    logits = rng.normal(0.0, 8.0, n).astype(np.float32)
    if 0.0 < min_score < 1.0:
        edge = np.float32(np.log(min_score) - np.log1p(-min_score))
        near = np.array([edge, np.nextafter(edge, np.float32(-200)), np.nextafter(edge, np.float32(200))])
        logits[:300] = np.resize(near, 300) + rng.integers(-40, 40, 300).astype(np.float32) * np.spacing(edge)
    logits[300:306] = [np.inf, -np.inf, np.nan, 150.0, -150.0, 100.0]
    boxes = rng.uniform(-5.0, 30.0, (n, 12)).astype(np.float32)
    boxes[:40, 2] = -1.0  # negative sizes are dropped
    boxes[40:45, 3] = np.nan
    got = decode_detections(boxes, logits[:, None], anchors, min_score, native=native)

    every = sigmoid32(np.clip(logits, -100.0, 100.0))
    expected = np.flatnonzero((every >= f32(min_score)) & (boxes[:, 2] >= 0) & (boxes[:, 3] >= 0))
    np.testing.assert_array_equal(got.scores, every[expected])
    size, kept, centres = np.float32(224), boxes[expected], anchors[expected]
    cx, cy = kept[:, 0] / size + centres[:, 0], kept[:, 1] / size + centres[:, 1]
    w, h = kept[:, 2] / size, kept[:, 3] / size
    two = np.float32(2)
    np.testing.assert_array_equal(got.boxes, np.stack([cx - w / two, cy - h / two, cx + w / two, cy + h / two], 1))
    np.testing.assert_array_equal(got.keypoints, kept[:, 4:].reshape(-1, 4, 2) / size + centres[:, None, :])
    if 0.0 < min_score < 1.0:
        assert 0 < len(got) < n  # both sides of the threshold were exercised


def test_inputs_the_compiled_decoding_does_not_take_go_to_the_numpy_stages():
    anchors = generate_anchors()
    rng = np.random.default_rng(8)
    boxes = rng.uniform(-5.0, 30.0, (len(anchors), 12)).astype(np.float32)
    logits = rng.normal(0.0, 3.0, (len(anchors), 1)).astype(np.float32)
    want = decode_detections(boxes, logits, anchors, 0.5, native=False)
    for b, s, a in [
        (boxes.astype(np.float64), logits, anchors),  # float64 values
        (boxes, logits, anchors.astype(np.float64)),
        (np.concatenate([boxes, np.zeros((len(anchors), 2), np.float32)], 1), logits, anchors),  # longer rows
    ]:
        got = decode_detections(b, s, a, 0.5)
        np.testing.assert_array_equal(got.scores, want.scores)
        np.testing.assert_allclose(got.boxes, want.boxes, rtol=1e-6)


def _crowd(rng: np.random.Generator, n: int) -> Detections:
    """Jittered boxes around a few people, with the awkward cases NMS meets: IoUs an ulp either side of the
    threshold, tied and zero scores, empty and NaN boxes."""
    centres = rng.uniform(0.0, 1.0, (3, 2))[rng.integers(0, 3, n)]
    sizes = rng.uniform(0.05, 0.4, (n, 2))
    centres += rng.normal(0.0, 0.03, (n, 2))
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1).astype(np.float32)
    kps = (centres[:, None, :] + rng.normal(0.0, 0.05, (n, 4, 2))).astype(np.float32)
    scores = rng.uniform(0.5, 1.0, n).astype(np.float32)
    # A box beside the first shifted so that their IoU, (1 - d) / (1 + d), lies at the threshold 0.3.
    shift = np.float32(0.7 / 1.3)
    for k, ulps in enumerate((-2, -1, 0, 1, 2)):
        if 2 * k + 1 < n:
            d = shift + np.float32(ulps) * np.spacing(shift)
            boxes[2 * k] = [0.0, 0.0, 1.0, 1.0]
            boxes[2 * k + 1] = [d, 0.0, d + np.float32(1.0), 1.0]
    pick = rng.random(n)
    scores[pick < 0.1] = scores[0]  # ties: the stable order decides
    scores[(pick > 0.95)] = 0.0
    boxes[(pick > 0.5) & (pick < 0.53), 2] = boxes[(pick > 0.5) & (pick < 0.53), 0]  # zero width
    boxes[(pick > 0.6) & (pick < 0.61), 1] = np.nan
    return Detections(boxes, kps, scores)


@needs_kernels
@pytest.mark.parametrize("seed", range(40))
def test_compiled_nms_writes_the_numpy_bits(seed):
    rng = np.random.default_rng(seed)
    dets = _crowd(rng, int(rng.integers(1, 60)))
    if seed % 10 == 0:
        dets = Detections(dets.boxes, dets.keypoints, np.zeros_like(dets.scores))  # weights that sum to 0
    for threshold in (0.3, 0.0, 0.9):
        want = weighted_nms(dets, threshold, native=False)
        got = weighted_nms(dets, threshold, native=True)
        for name in ("boxes", "keypoints", "scores"):
            assert getattr(got, name).dtype == np.float32
            assert getattr(got, name).tobytes() == getattr(want, name).tobytes(), f"{name}, threshold {threshold}"


def test_nms_of_float64_detections_is_numpy_s():
    dets = _crowd(np.random.default_rng(1), 30)
    detail = 1e-9  # below float32's resolution: lost if the values went through float32
    wide = Detections(dets.boxes.astype(np.float64) + detail, dets.keypoints.astype(np.float64) + detail, dets.scores)
    got = weighted_nms(wide)
    want = weighted_nms(wide, native=False)
    assert got.boxes.tobytes() == want.boxes.tobytes() and got.scores.tobytes() == want.scores.tobytes()


@pytest.mark.parametrize("native", [False, pytest.param(True, marks=needs_kernels)])
@pytest.mark.parametrize("min_score", [0.0, 0.5, 0.99, 1.5])
def test_decode_and_suppress_is_nms_of_the_decoding(min_score, native):
    anchors = generate_anchors()
    rng = np.random.default_rng(11)
    boxes = rng.uniform(-5.0, 30.0, (len(anchors), 12)).astype(np.float32)
    boxes[:, 2:4] = rng.uniform(-2.0, 60.0, (len(anchors), 2))
    logits = rng.normal(0.0, 3.0, (len(anchors), 1)).astype(np.float32)
    want = weighted_nms(decode_detections(boxes, logits, anchors, min_score, native=False), native=False)
    got = decode_and_suppress(boxes, logits, anchors, min_score, native=native)
    for name in ("boxes", "keypoints", "scores"):
        assert getattr(got, name).tobytes() == getattr(want, name).tobytes()
    assert (len(got) > 0) == (min_score < 1.0)


@pytest.mark.parametrize("native", [False, pytest.param(True, marks=needs_kernels)])
@pytest.mark.parametrize("threshold", [0.3, np.float32(0.3), np.float64(0.3)])
def test_nms_compares_the_iou_with_the_threshold_in_float32(threshold, native):
    # IoU 3/10 rounds to float32(0.3), which is not above float32(0.3) but is above the double 0.3.
    boxes = np.array([[0, 0, 10, 1], [0, 0, 3, 1]], np.float32)
    dets = Detections(boxes, np.zeros((2, 4, 2), np.float32), np.array([0.9, 0.8], np.float32))
    assert len(weighted_nms(dets, threshold, native=native)) == 2


@needs_kernels
def test_compiled_nms_refuses_an_output_that_overlaps_its_input():
    kernels = native_kernels()
    assert kernels is not None
    rows = np.zeros((4, 13), np.float32)
    with pytest.raises(ValueError, match="share memory"):
        kernels.weighted_nms(rows, 0.3, rows)
    with pytest.raises(ValueError, match="expected float32 rows"):
        kernels.weighted_nms(rows, 0.3, np.zeros((3, 13), np.float32))
