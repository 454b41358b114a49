"""VideoSource's decode thread: it never outlives a caller that stops early (issue #11)."""

import threading
import time

import numpy as np
import pytest

from media_helpers import make_clip

pytest.importorskip("av", reason="video input needs PyAV (the video extra)")

from blazepose.io.video import PREFETCH_FRAMES, VideoSource


def test_stopping_early_while_the_decoder_waits_on_a_full_queue_at_the_end_returns(tmp_path):
    # One frame taken, the next PREFETCH_FRAMES fill the queue, and the decoder
    # has the end marker left to hand over: the caller then stops (an error).
    clip = make_clip(tmp_path / "c.mp4", PREFETCH_FRAMES + 1, np.zeros((64, 64, 3), np.uint8))
    source = VideoSource(str(clip))
    frames = source.frames()
    next(frames)
    time.sleep(1.0)  # lets the decoder fill the queue and reach the end
    closer = threading.Thread(target=frames.close, daemon=True)
    closer.start()
    closer.join(30)
    assert not closer.is_alive(), "closing the frames hung: the decode thread is stuck on a full queue"
    source.close()


def test_a_complete_video_is_not_reported_as_truncated(tmp_path):
    clip = make_clip(tmp_path / "c.mkv", 7, np.zeros((64, 64, 3), np.uint8))
    source = VideoSource(str(clip))
    assert [f.index for f in source.frames()] == list(range(7))
    source.close()
