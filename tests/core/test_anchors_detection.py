import numpy as np
import pytest

from blazepose.core.anchors import generate_anchors
from blazepose.core.detection import Detections, box_iou, decode_detections, remove_letterbox, weighted_nms
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
