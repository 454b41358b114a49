"""Reading photos."""

from __future__ import annotations

import numpy as np


def read_photo(path: str) -> np.ndarray:
    """An RGB photo; raises ValueError naming the file when it cannot be decoded."""
    import cv2

    data = np.fromfile(path, np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise ValueError(f"{path}: not a readable image (corrupt, truncated or unsupported)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
