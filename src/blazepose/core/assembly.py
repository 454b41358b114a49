"""Assembling one frame's ``PoseResult`` from the poses the estimator found."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from blazepose.core.landmarker import RawPose
from blazepose.core.results import PoseResult
from blazepose.core.segmentation import mask_to_image
from blazepose.core.tracking import PoseTrack, SmoothedPose


def assemble_result(
    image: np.ndarray,
    found: Sequence[tuple[int, RawPose, SmoothedPose, PoseTrack | None]],
    with_masks: bool,
    ts: int | None,
) -> PoseResult:
    """One frame's ``PoseResult`` from its poses: (track id, raw pose, smoothed pose, track or None),
    with each pose's mask warped back to the image (and smoothed by its track) when asked for."""
    h, w = image.shape[:2]
    if not found:
        return PoseResult.empty((h, w), with_masks, ts)
    masks = None
    if with_masks:
        masks = np.empty((len(found), h, w), np.float32)
        for i, (_, raw, _, track) in enumerate(found):
            assert raw.mask_logits is not None
            # Written in place: a 10000 x 10000 frame's mask is 400 MB.
            mask = mask_to_image(raw.mask_logits, raw.crop.tensor_to_image(w, h), w, h, out=masks[i])
            if track is not None:
                track.smooth_mask(mask)
    poses = [pose for _, _, pose, _ in found]
    # np.array stacks the poses into new float32 arrays (the tracks keep theirs as filter state) in one call.
    return PoseResult(
        landmarks=np.array([p.landmarks for p in poses], np.float32),
        world_landmarks=np.array([p.world for p in poses], np.float32),
        visibility=np.array([p.visibility for p in poses], np.float32),
        presence=np.array([p.presence for p in poses], np.float32),
        pose_scores=np.array([raw.score for _, raw, _, _ in found], np.float32),
        rois=np.array([tuple(raw.roi) for _, raw, _, _ in found], np.float32),
        image_size=(h, w),
        segmentation_masks=masks,
        track_ids=np.array([tid for tid, _, _, _ in found], np.int64),
        timestamp_us=ts,
    )
