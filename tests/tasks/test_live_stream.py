"""PoseLandmarker in LIVE_STREAM mode: queue, drop policy, order, errors, close."""

import threading
import time

import numpy as np
import pytest

from blazepose import CallbackError, PoseLandmarker, PoseLandmarkerOptions, QueuePolicy, RunningMode


def _live(callback, **kw):
    return PoseLandmarker.create_from_options(
        PoseLandmarkerOptions(running_mode=RunningMode.LIVE_STREAM, result_callback=callback, model_complexity=0, **kw)
    )


class Recorder:
    """A result callback that records timestamps, optionally slowly or failing."""

    def __init__(self, delay: float = 0.0, fail_at: int | None = None):
        self.timestamps: list[int] = []
        self.poses: list[int] = []
        self.delay = delay
        self.fail_at = fail_at
        self.started = threading.Event()

    def __call__(self, result, image, timestamp_ms):
        self.started.set()
        time.sleep(self.delay)
        self.timestamps.append(timestamp_ms)
        self.poses.append(len(result.pose_landmarks))
        assert image.numpy_view().shape == (512, 512, 3)
        if timestamp_ms == self.fail_at:
            raise KeyError("boom")


def test_results_arrive_in_order_and_close_waits_for_them(astronaut):
    rec = Recorder()
    with _live(rec, queue_policy=QueuePolicy.BLOCK) as landmarker:
        for i in range(8):
            landmarker.detect_async(astronaut, i * 40)
    # close() returned only after every queued frame was delivered.
    assert rec.timestamps == [i * 40 for i in range(8)]
    assert landmarker.dropped_frames == 0 and rec.poses == [1] * 8


@pytest.mark.parametrize(
    ("policy", "delivered"),
    [
        # While frame 0 is in the callback, only two of frames 1..9 can wait:
        (QueuePolicy.DROP_OLDEST, [0, 80, 90]),  # the newest two
        (QueuePolicy.DROP_NEWEST, [0, 10, 20]),  # the first two
    ],
)
def test_drop_policy_when_the_queue_is_full(astronaut, policy, delivered):
    rec = Recorder(delay=0.3)
    with _live(rec, max_queue_size=2, queue_policy=policy) as landmarker:
        landmarker.detect_async(astronaut, 0)
        assert rec.started.wait(10)  # frame 0 is in the callback
        for i in range(1, 10):
            landmarker.detect_async(astronaut, i * 10)
    assert rec.timestamps == delivered
    assert landmarker.dropped_frames == 7


def test_the_caller_may_reuse_its_buffer(astronaut):
    rec = Recorder(delay=0.05)
    buffer = np.array(astronaut)
    with _live(rec, queue_policy=QueuePolicy.BLOCK) as landmarker:
        landmarker.detect_async(buffer, 0)
        buffer[:] = 0  # the camera overwrites its buffer with the next (black) frame
        landmarker.detect_async(buffer, 33)
    assert rec.poses == [1, 0]


def test_callback_error_is_reported_on_the_next_call_and_the_stream_goes_on(astronaut):
    rec = Recorder(fail_at=0)
    landmarker = _live(rec, queue_policy=QueuePolicy.BLOCK)
    landmarker.detect_async(astronaut, 0)
    deadline = time.time() + 10
    while not rec.timestamps and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    with pytest.raises(CallbackError, match="KeyError") as err:
        landmarker.detect_async(astronaut, 33)
    assert isinstance(err.value.__cause__.__cause__, KeyError)
    assert "frame at 33 ms given to this call was queued" in str(err.value)
    landmarker.detect_async(astronaut, 66)  # reported once; the stream goes on
    landmarker.close()
    assert rec.timestamps == [0, 33, 66]  # the frame of the call that raised is not lost


def test_callback_error_on_the_last_frame_is_raised_by_close(astronaut):
    rec = Recorder(fail_at=10)
    landmarker = _live(rec)
    landmarker.detect_async(astronaut, 10)
    with pytest.raises(CallbackError):
        landmarker.close()


def test_bad_timestamps_are_refused_and_the_stream_stays_usable(astronaut):
    rec = Recorder()
    with _live(rec, queue_policy=QueuePolicy.BLOCK) as landmarker:
        landmarker.detect_async(astronaut, 100)
        with pytest.raises(ValueError, match="Input timestamp must be monotonically increasing"):
            landmarker.detect_async(astronaut, 100)
        with pytest.raises(ValueError, match="three channel"):
            landmarker.detect_async(np.zeros((4, 4), np.uint8), 150)
        landmarker.detect_async(astronaut)  # no timestamp: one 30 fps step on
    assert rec.timestamps == [100, 133]


def test_close_from_the_callback_is_refused(astronaut):
    errors = []
    holder = {}

    def callback(result, image, ts):
        try:
            holder["landmarker"].close()
        except RuntimeError as error:
            errors.append(str(error))

    landmarker = _live(callback)
    holder["landmarker"] = landmarker
    landmarker.detect_async(astronaut, 0)
    landmarker.close()
    assert errors and "callback" in errors[0]


def test_the_callback_gets_the_image_as_given(astronaut):
    # (An SRGBA frame came back as SRGB of 3 channels: code reading its alpha failed.)
    import blazepose as mp

    rgba = np.concatenate([astronaut, np.full((*astronaut.shape[:2], 1), 7, np.uint8)], axis=2)
    got = []
    options = PoseLandmarkerOptions(running_mode=RunningMode.LIVE_STREAM,
                                    result_callback=lambda result, image, ms: got.append((image, ms)))  # fmt: skip
    with PoseLandmarker.create_from_options(options) as landmarker:
        landmarker.detect_async(mp.Image(image_format=mp.ImageFormat.SRGBA, data=rgba), 5)
    ((image, ms),) = got
    assert ms == 5 and image.image_format is mp.ImageFormat.SRGBA
    np.testing.assert_array_equal(image.numpy_view(), rgba)
