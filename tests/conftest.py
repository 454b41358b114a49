"""Shared fixtures: the shared data folder, the astronaut photo, MediaPipe when installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
NEEDS_SHARED = pytest.mark.skipif(
    not (SHARED_DATA / "reference").is_dir(),
    reason=f"needs the shared test data at {SHARED_DATA} (CI has it; a fresh clone alone does not)",
)
HAS_MEDIAPIPE = importlib.util.find_spec("mediapipe") is not None
NEEDS_MEDIAPIPE = pytest.mark.skipif(
    not HAS_MEDIAPIPE, reason="needs mediapipe==0.10.14 (WITH_MEDIAPIPE=1 scripts/test.sh installs it)"
)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's public-domain astronaut photo, RGB uint8 512x512."""
    data = pytest.importorskip("skimage.data", reason="scikit-image (test extra) ships the astronaut photo")
    image = data.astronaut()
    image.setflags(write=False)  # the library must never write into its input
    return image


def shared_images() -> list[Path]:
    """The 29 shared photos that have recorded MediaPipe outputs."""
    return sorted(p for p in (SHARED_DATA / "images").glob("*/*.jpg"))


SHARED_VIDEO = SHARED_DATA / "video" / "dance_720p.avi"
REFERENCE_DIR = SHARED_DATA / "reference"
