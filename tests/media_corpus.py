"""Small inputs for the runners (two short clips, two photos made from the astronaut photo) and output comparison."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest


def write_clip(path: Path, rgb: np.ndarray, frames: int, shift: int) -> Path:
    from blazepose.io.video_writer import AnnotatedVideoWriter

    writer = AnnotatedVideoWriter(path, rgb.shape[1], rgb.shape[0], Fraction(25))
    for i in range(frames):
        writer.write(np.roll(rgb, shift * i, axis=1)[..., ::-1], i * 40.0, 0.0)
    writer.close()
    return path


def make_corpus(folder: Path, astronaut: np.ndarray) -> Path:
    """Fills ``folder`` with clip_a.mp4 (6 frames), clip_b.mp4 (5 frames), photo_c.png and photo_d.jpg."""
    pytest.importorskip("av", reason="the clips are written with PyAV (the video extra)")
    import cv2

    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    write_clip(folder / "clip_a.mp4", small, 6, 3)
    write_clip(folder / "clip_b.mp4", small[:, ::-1].copy(), 5, -2)
    cv2.imwrite(str(folder / "photo_c.png"), astronaut[..., ::-1])
    cv2.imwrite(str(folder / "photo_d.jpg"), np.roll(astronaut, 30, axis=0)[..., ::-1])
    return folder


def output_files(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder by name, with its bytes (MP4s: their decoded frames)."""
    import av

    found = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".mp4":
            with av.open(str(path)) as c:
                found[path.name] = b"".join(f.to_ndarray(format="rgb24").tobytes() for f in c.decode(video=0))
        else:
            found[path.name] = path.read_bytes()
    return found
