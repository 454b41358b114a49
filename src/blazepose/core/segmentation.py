"""Segmentation: the crop's mask warped back onto the image, and its smoothing."""

from __future__ import annotations

import cv2
import numpy as np

COMBINE_WITH_PREVIOUS_RATIO = 0.7

# Polynomial in (p - 0.5)^2 that approximates 1 - uncertainty, where the
# uncertainty of a mask value p is 1 - (1 - H(p))^2 with H the binary entropy.
_CERTAINTY_POLY = (5.68842, -0.748699, -57.8051, 291.309, -624.717)


def mask_to_image(logits: np.ndarray, tensor_to_image: np.ndarray, image_width: int, image_height: int) -> np.ndarray:
    """Turns the model's mask logits into a probability mask of the image's size.

    Args:
        logits: (S, S) logits over the crop.
        tensor_to_image: (2, 3) affine map from normalized crop coordinates to
            normalized image coordinates (:meth:`CropRegion.tensor_to_image`).
        image_width: Output width.
        image_height: Output height.

    Returns:
        (H, W) float32 in [0, 1], zero outside the crop.
    """
    # Mask values feed nothing downstream, so numpy's own float32 exp serves
    # (bit-exact expf matters only for what the tracker feeds back).
    with np.errstate(over="ignore"):
        mask = np.float32(1) / (np.float32(1) + np.exp(-np.asarray(logits, np.float32).reshape(logits.shape[-2:])))
    size_h, size_w = mask.shape
    # Image pixel -> crop pixel, the map warpAffine samples through.
    forward = np.vstack([tensor_to_image, [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(forward)
    image_to_crop = np.diag([size_w, size_h, 1.0]) @ inverse @ np.diag([1.0 / image_width, 1.0 / image_height, 1.0])
    return cv2.warpAffine(
        mask,
        image_to_crop[:2].astype(np.float32),
        (image_width, image_height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def smooth_mask(current: np.ndarray, previous: np.ndarray, ratio: float = COMBINE_WITH_PREVIOUS_RATIO) -> np.ndarray:
    """Blends a new mask with the previous smoothed one.

    Each pixel moves from its new value towards the previous one by
    ``ratio`` times the new value's uncertainty: confident pixels (near 0 or
    1) keep the new value, uncertain ones (near 0.5) lean on the past.
    """
    t = current - np.float32(0.5)
    x = t * t
    c1, c2, c3, c4, c5 = (np.float32(c) for c in _CERTAINTY_POLY)
    certainty = np.minimum(np.float32(1), x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * c5)))))
    weight = (np.float32(1) - certainty) * np.float32(ratio)
    return (current + (previous - current) * weight).astype(np.float32)
