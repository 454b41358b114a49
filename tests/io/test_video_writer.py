"""AnnotatedVideoWriter: frames of another size than the first are fitted, not cut."""

from fractions import Fraction

import numpy as np
import pytest

av = pytest.importorskip("av", reason="video output needs PyAV (the video extra)")

from blazepose.io.video_writer import AnnotatedVideoWriter  # noqa: E402


def _picture(height: int, width: int) -> np.ndarray:
    """Black with a white right half: where the halves meet shows how a frame was fitted."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:, width // 2 :] = 255
    return image


@pytest.mark.parametrize("later", [(96, 128), (24, 32), (48, 96)])
def test_frames_whose_size_changes_midway_are_scaled_into_the_video(tmp_path, later):
    # (A larger frame was cut to its top-left corner: a stream joined from two sizes showed a quarter.)
    writer = AnnotatedVideoWriter(tmp_path / "v.mp4", 64, 48, Fraction(25))
    writer.write(_picture(48, 64), 0.0, 0.0)
    writer.write(_picture(*later), 40.0, 0.0)
    writer.close()
    with av.open(str(tmp_path / "v.mp4")) as container:
        frames = [f.to_ndarray(format="gray").astype(int) for f in container.decode(video=0)]
    assert [f.shape for f in frames] == [(48, 64), (48, 64)]
    height, width = later
    scale = min(48 / height, 64 / width)
    shown_w = round(width * scale)
    left = (64 - shown_w) // 2
    row = frames[1][24]
    assert row[left + 2 : left + shown_w // 2 - 2].max() < 40  # the black half, where it should be
    assert row[left + shown_w // 2 + 2 : left + shown_w - 2].min() > 215  # the white half
    if left > 2:
        assert row[: left - 1].max() < 40  # the bars beside a frame of another shape
