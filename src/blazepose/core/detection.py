"""Person detections: decoding the detector's tensors, weighted NMS, letterbox removal."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from blazepose.core.anchors import DETECTOR_INPUT_SIZE
from blazepose.core.float32 import f32, sequential_sum32, sigmoid32
from blazepose.core.native import native_kernels

NUM_KEYPOINTS = 4
SCORE_CLIP = 100.0
NMS_IOU_THRESHOLD = 0.3
BOX_VALUES = 4 + 2 * NUM_KEYPOINTS
"""The detector's values per anchor: box centre and size, then the keypoints."""
DECODED_VALUES = BOX_VALUES + 1
"""What the compiled decoding writes per kept anchor: box corners, keypoints, score."""


@dataclass(frozen=True)
class Detections:
    """Person detections in normalized image coordinates.

    Attributes:
        boxes: (K, 4) float32, ``xmin, ymin, xmax, ymax``.
        keypoints: (K, 4, 2) float32, ``x, y``: hip midpoint, a point on the
            body's enclosing circle, shoulder midpoint, its circle point.
        scores: (K,) float32 in [0, 1], best first after NMS.
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        k = len(self.scores)
        if self.boxes.shape != (k, 4) or self.keypoints.shape != (k, NUM_KEYPOINTS, 2):
            raise ValueError(
                f"inconsistent detections: boxes {self.boxes.shape}, "
                f"keypoints {self.keypoints.shape}, scores {self.scores.shape}"
            )

    def __len__(self) -> int:
        return len(self.scores)

    @staticmethod
    def empty() -> Detections:
        return Detections(
            np.zeros((0, 4), np.float32),
            np.zeros((0, NUM_KEYPOINTS, 2), np.float32),
            np.zeros((0,), np.float32),
        )


def decode_detections(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    min_score: float,
    input_size: int = DETECTOR_INPUT_SIZE,
    native: bool | None = None,
) -> Detections:
    """Decodes the detector's raw outputs into scored boxes and keypoints.

    Args:
        raw_boxes: (num_anchors, 12) ``x, y, w, h`` then 4 keypoints ``x, y``,
            in input pixels relative to the anchor.
        raw_scores: (num_anchors,) score logits.
        anchors: (num_anchors, 2) anchor centres (fixed size 1).
        min_score: Scores below this are dropped.
        input_size: Detector input side in pixels.
        native: Whether to use the compiled kernel (same values); None uses
            it when built.

    Returns:
        Detections in the letterboxed input's normalized coordinates, in
        anchor order (not yet suppressed).
    """
    kernels = native_kernels(native)
    compiled = None
    if kernels is not None:
        compiled = _compiled_decoding(kernels, raw_boxes, raw_scores, anchors, min_score, input_size)
    if compiled is not None:
        return _detections_from_rows(compiled)
    n = len(anchors)
    logits = np.clip(raw_scores.reshape(-1).astype(np.float32), -SCORE_CLIP, SCORE_CLIP)
    scores = sigmoid32(logits)
    keep = np.flatnonzero(scores >= f32(min_score))
    raw = raw_boxes.reshape(n, -1)[keep].astype(np.float32)
    centres = anchors[keep]
    scale = f32(input_size)
    half = f32(2)
    cx = raw[:, 0] / scale + centres[:, 0]
    cy = raw[:, 1] / scale + centres[:, 1]
    w = raw[:, 2] / scale
    h = raw[:, 3] / scale
    boxes = np.stack([cx - w / half, cy - h / half, cx + w / half, cy + h / half], axis=1)
    kps = raw[:, 4 : 4 + 2 * NUM_KEYPOINTS].reshape(-1, NUM_KEYPOINTS, 2) / scale + centres[:, None, :]
    valid = (w >= 0) & (h >= 0)  # NaN compares false and is dropped too
    return Detections(boxes[valid].astype(np.float32), kps[valid].astype(np.float32), scores[keep][valid])


def decode_and_suppress(
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    min_score: float,
    iou_threshold: float = NMS_IOU_THRESHOLD,
    native: bool | None = None,
) -> Detections:
    """:func:`weighted_nms` of :func:`decode_detections` (see them for the arguments); with the compiled
    kernels, both on one buffer of rows."""
    kernels = native_kernels(native)
    rows = None if kernels is None else _compiled_decoding(kernels, raw_boxes, raw_scores, anchors, min_score)
    if kernels is None or rows is None:
        dets = decode_detections(raw_boxes, raw_scores, anchors, min_score, native=native)
        return weighted_nms(dets, iou_threshold, native)
    return _suppressed_rows(kernels, rows, iou_threshold) if len(rows) else Detections.empty()


def _compiled_decoding(
    kernels: ModuleType,
    raw_boxes: np.ndarray,
    raw_scores: np.ndarray,
    anchors: np.ndarray,
    min_score: float,
    input_size: int = DETECTOR_INPUT_SIZE,
) -> np.ndarray | None:
    """The compiled decoding's rows (box corners, keypoints, score), or None for inputs it does not take:
    other types than float32, or box rows longer than 12 values (the numpy stages take those)."""
    n = len(anchors)
    if not all(a.dtype == np.float32 for a in (raw_boxes, raw_scores, anchors)):
        return None
    if (raw_boxes.size, raw_scores.size, anchors.size) != (n * BOX_VALUES, n, 2 * n):
        return None
    decoded = np.empty((n, DECODED_VALUES), np.float32)
    kept = kernels.decode_detections(
        np.ascontiguousarray(raw_boxes),
        np.ascontiguousarray(raw_scores),
        np.ascontiguousarray(anchors),
        min_score,
        input_size,
        decoded,
    )
    return decoded[:kept]


def _suppressed_rows(kernels: ModuleType, rows: np.ndarray, iou_threshold: float) -> Detections:
    out = np.empty_like(rows)  # (a buffer of its own: the kernel reads rows while it writes out)
    return _detections_from_rows(out[: kernels.weighted_nms(rows, iou_threshold, out)])  # (a C float: float32)


def _detections_from_rows(rows: np.ndarray) -> Detections:
    """Detections from the compiled kernels' rows: box corners, keypoints, score."""
    boxes, keypoints, scores = rows[:, :4], rows[:, 4:BOX_VALUES], rows[:, BOX_VALUES]
    return Detections(boxes.copy(), keypoints.reshape(len(rows), NUM_KEYPOINTS, 2).copy(), scores.copy())


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``xmin, ymin, xmax, ymax`` box against (K, 4) boxes."""
    ix = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    iy = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.where((ix > 0) & (iy > 0), ix * iy, 0.0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def weighted_nms(dets: Detections, iou_threshold: float = NMS_IOU_THRESHOLD, native: bool | None = None) -> Detections:
    """Weighted non-max suppression.

    Going from the best score down, each remaining detection gathers every
    remaining one whose IoU with it exceeds the threshold (itself included);
    the group is replaced by the score-weighted mean of its boxes and
    keypoints, keeping the best score.

    Args:
        dets: Detections in any order.
        iou_threshold: IoU above which a detection joins the best one's group
            (compared in float32, as MediaPipe's float option, whatever its type).
        native: Whether to use the compiled kernel (same values); None uses
            it when built.
    """
    if len(dets) == 0:
        return dets
    kernels = native_kernels(native)
    if kernels is not None and all(a.dtype == np.float32 for a in (dets.boxes, dets.keypoints, dets.scores)):
        n = len(dets)
        rows = np.empty((n, DECODED_VALUES), np.float32)
        rows[:, :4] = dets.boxes
        rows[:, 4:BOX_VALUES] = dets.keypoints.reshape(n, 2 * NUM_KEYPOINTS)
        rows[:, BOX_VALUES] = dets.scores
        return _suppressed_rows(kernels, rows, iou_threshold)
    threshold = f32(iou_threshold)
    order = np.argsort(-dets.scores, kind="stable")  # (other types: numpy's own arithmetic)
    boxes, kps, scores = dets.boxes[order], dets.keypoints[order], dets.scores[order]
    remaining = np.arange(len(scores))
    out_boxes, out_kps, out_scores = [], [], []
    while remaining.size:
        top = remaining[0]
        iou = box_iou(boxes[top], boxes[remaining])
        group = remaining[iou > threshold]
        out_scores.append(scores[top])
        if group.size == 0:
            # A degenerate (zero-area) best box overlaps nothing, not even
            # itself: it is kept as it is and suppression stops, as in MediaPipe.
            out_boxes.append(boxes[top])
            out_kps.append(kps[top])
            break
        # Score-weighted means, summed in float32 in score order.
        weights = scores[group]
        total = sequential_sum32(weights, axis=0)
        if total > 0:
            out_boxes.append(sequential_sum32(boxes[group] * weights[:, None], axis=0) / total)
            out_kps.append(sequential_sum32(kps[group] * weights[:, None, None], axis=0) / total)
        else:  # scores of 0 (min score 0): no weights to average with; 0 / 0 would give NaN boxes
            out_boxes.append(boxes[top])
            out_kps.append(kps[top])
        remaining = remaining[iou <= threshold]
    return Detections(
        np.asarray(out_boxes, np.float32), np.asarray(out_kps, np.float32), np.asarray(out_scores, np.float32)
    )


def remove_letterbox(dets: Detections, padding: tuple[float, float, float, float]) -> Detections:
    """Maps detections from the letterboxed input back to the original image.

    Args:
        dets: Detections in the letterboxed square's normalized coordinates.
        padding: ``left, top, right, bottom`` padding as fractions of the square.
    """
    left, top, right, bottom = (f32(p) for p in padding)
    offset = np.array([left, top], np.float32)
    scale = np.array([f32(1) - (left + right), f32(1) - (top + bottom)], np.float32)
    boxes = dets.boxes.reshape(-1, 2, 2)
    return Detections(
        ((boxes - offset) / scale).reshape(-1, 4).astype(np.float32),
        ((dets.keypoints - offset) / scale).astype(np.float32),
        dets.scores,
    )
