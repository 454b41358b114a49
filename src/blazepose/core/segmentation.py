"""Segmentation: the crop's mask warped back onto the image, and its smoothing."""

from __future__ import annotations

import cv2
import numpy as np

COMBINE_WITH_PREVIOUS_RATIO = 0.7

# Polynomial in (p - 0.5)^2 that approximates 1 - uncertainty, where the
# uncertainty of a mask value p is 1 - (1 - H(p))^2 with H the binary entropy.
_CERTAINTY_POLY = (5.68842, -0.748699, -57.8051, 291.309, -624.717)


def mask_to_image(
    logits: np.ndarray,
    tensor_to_image: np.ndarray,
    image_width: int,
    image_height: int,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Turns the model's mask logits into a probability mask of the image's size.

    Args:
        logits: (S, S) logits over the crop.
        tensor_to_image: (2, 3) affine map from normalized crop coordinates to
            normalized image coordinates (:meth:`CropRegion.tensor_to_image`).
        image_width: Output width.
        image_height: Output height.
        out: Optional (H, W) float32 C-contiguous array to write into.

    Returns:
        (H, W) float32 in [0, 1], zero outside the crop (``out`` when given).
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
        dst=out,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def smooth_mask(
    current: np.ndarray,
    previous: np.ndarray,
    ratio: float = COMBINE_WITH_PREVIOUS_RATIO,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Blends a new mask with the previous smoothed one.

    Each pixel moves from its new value towards the previous one by
    ``ratio`` times the new value's uncertainty: confident pixels (near 0 or
    1) keep the new value, uncertain ones (near 0.5) lean on the past.
    Computed in bands of rows, so the temporaries stay small however large
    the frame (the values are the same: every step is per pixel).

    Args:
        out: Optional float32 array of the masks' shape for the result (may
            be ``current``).
    """
    result = np.empty(current.shape, np.float32) if out is None else out
    rows = max(1, _BAND_PIXELS // max(1, current.shape[-1]))
    for top in range(0, current.shape[0], rows):
        band = slice(top, top + rows)
        result[band] = _smooth(current[band], previous[band], ratio)
    return result


_BAND_PIXELS = 1 << 18


def _smooth(current: np.ndarray, previous: np.ndarray, ratio: float) -> np.ndarray:
    t = current - np.float32(0.5)
    x = t * t
    c1, c2, c3, c4, c5 = (np.float32(c) for c in _CERTAINTY_POLY)
    certainty = np.minimum(np.float32(1), x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * c5)))))
    weight = (np.float32(1) - certainty) * np.float32(ratio)
    return (current + (previous - current) * weight).astype(np.float32)
