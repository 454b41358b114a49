"""Backgrounds and tints from segmentation masks, under the drawn skeleton."""

from __future__ import annotations

import numpy as np

from blazepose.core.results import PoseResult
from blazepose.draw.skeleton import draw_result

PERSON_TINT_BGR = (96, 160, 0)


def tint_person(image_bgr: np.ndarray, mask: np.ndarray, strength: float = 0.35) -> np.ndarray:
    """The image with the person (mask near 1) tinted green."""
    tint = np.zeros_like(image_bgr)
    tint[:] = PERSON_TINT_BGR
    weight = (strength * mask)[..., None]
    return (image_bgr * (1 - weight) + tint * weight).astype(np.uint8)


def annotate_frame(rgb: np.ndarray, result: PoseResult, overlay: str) -> np.ndarray:
    """A BGR copy of the frame with the poses drawn (MediaPipe's style), the background tinted or blurred."""
    import cv2

    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    mask = result.segmentation_mask
    if overlay != "none" and mask is not None:
        weight = mask[..., None]
        if overlay == "blur":
            background = cv2.GaussianBlur(bgr, (0, 0), sigmaX=max(bgr.shape[:2]) / 80)
        else:
            background = np.full_like(bgr, (192, 192, 192))
        bgr = (bgr * weight + background * (1 - weight)).astype(np.uint8)
    return draw_result(bgr, result)
