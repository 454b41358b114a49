"""Fault injection into the public APIs (issue #11): property-based, fixed seed, bounded budget.

Random and adversarial images (shapes, dtypes, strides, sizes), timestamps,
boxes and options go through PoseEstimator, PoseLandmarker (IMAGE, VIDEO,
LIVE_STREAM) and solutions.pose.Pose. Each call either works or raises one of
the documented exceptions (ValueError, TypeError; CallbackError for a failed
LIVE_STREAM callback), exactly as an oracle of the documented rules says, and
the instance stays usable. ``derandomize=True`` makes every run try the same
inputs; the example counts keep the whole file within about a minute
(``BLAZEPOSE_FAULT_EXAMPLES`` raises them for a longer hunt).
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the fault-injection suite needs hypothesis (test extra)")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from blazepose import (  # noqa: E402
    PoseEstimator,
    PoseLandmarker,
    PoseLandmarkerOptions,
    QueuePolicy,
    RunningMode,
)
from blazepose.core.timestamps import MAX_TIMESTAMP_MS  # noqa: E402
from blazepose.core.validation import MAX_IMAGE_SIDE  # noqa: E402
from blazepose.solutions.pose import Pose  # noqa: E402

# Examples per property: CI's budget by default; BLAZEPOSE_FAULT_EXAMPLES=2000 for a long hunt.
EXAMPLES = int(os.environ.get("BLAZEPOSE_FAULT_EXAMPLES", "60"))
SETTINGS = settings(
    derandomize=True, deadline=None, max_examples=EXAMPLES, suppress_health_check=list(HealthCheck), database=None
)
GOOD = np.zeros((48, 48, 3), np.uint8)
DOCUMENTED = (ValueError, TypeError)

# Images -----------------------------------------------------------------------


@st.composite
def images(draw) -> object:
    """Arrays of many shapes, dtypes and memory layouts, and a few non-arrays."""
    kind = draw(st.sampled_from(["array"] * 8 + ["list", "none", "text", "huge"]))
    if kind == "list":
        return [[[0, 0, 0]]]
    if kind == "none":
        return None
    if kind == "text":
        return "photo.jpg"
    if kind == "huge":  # one side past the crop kernels' 16-bit range
        tall = draw(st.booleans())
        shape = (MAX_IMAGE_SIDE + 1, 2, 3) if tall else (2, MAX_IMAGE_SIDE + draw(st.integers(1, 9000)), 3)
        return np.zeros(shape, np.uint8)
    h, w = draw(st.integers(0, 160)), draw(st.integers(0, 160))
    channels = draw(st.sampled_from([3, 3, 3, 1, 4, None]))
    dtype = draw(st.sampled_from([np.uint8] * 6 + [np.float32, np.float64, np.int16, np.uint16, np.bool_, np.int8]))
    layout = draw(st.sampled_from(["c", "fortran", "step", "reversed", "transposed", "readonly", "channels_reversed"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (h, w) if channels is None else (h, w, channels)
    if layout == "step":
        base = rng.integers(0, 256, (2 * h, 3 * w, *shape[2:])).astype(dtype)
        array = base[::2, ::3]
    elif layout == "transposed":
        array = rng.integers(0, 256, (w, h, *shape[2:])).astype(dtype).swapaxes(0, 1)
    else:
        array = rng.integers(0, 256, shape).astype(dtype)
        if layout == "fortran":
            array = np.asfortranarray(array)
        elif layout == "reversed":
            array = array[::-1, ::-1]
        elif layout == "channels_reversed" and channels:
            array = array[..., ::-1]
        elif layout == "readonly":
            array.setflags(write=False)
    return array


def valid_image(image: object) -> bool:
    """The documented rule: a non-empty HxWx3 uint8 array, sides at most MAX_IMAGE_SIDE."""
    return (
        isinstance(image, np.ndarray)
        and image.ndim == 3
        and image.shape[2] == 3
        and image.dtype == np.uint8
        and 0 < min(image.shape[:2])
        and max(image.shape[:2]) <= MAX_IMAGE_SIDE
    )


def _call(function, valid: bool):
    """Calls ``function``; it must work when ``valid``, else raise a documented error."""
    event("valid input: works" if valid else "invalid input: refused")
    if valid:
        return function()
    with pytest.raises(DOCUMENTED):
        function()
    return None


@pytest.fixture(scope="module")
def estimators():
    still = PoseEstimator(static_image_mode=True, model_complexity=0, max_poses=2)
    video = PoseEstimator(model_complexity=0, enable_segmentation=True, smooth_segmentation=True)
    yield still, video
    still.close()
    video.close()


@SETTINGS
@given(image=images())
def test_estimator_takes_any_image_or_refuses_it_clearly(estimators, image):
    still, video = estimators
    before = image.copy() if isinstance(image, np.ndarray) else None
    _call(lambda: still.process(image), valid_image(image))
    result = _call(lambda: video.process(image), valid_image(image))
    if result is not None and result.segmentation_masks is not None:
        assert result.segmentation_masks.shape[1:] == image.shape[:2]
    if before is not None:
        np.testing.assert_array_equal(image, before)  # never written into
    assert len(still.process(GOOD)) == 0 and len(video.process(GOOD)) == 0  # still usable


@pytest.fixture(scope="module")
def landmarkers():
    image = PoseLandmarker.create_from_options(PoseLandmarkerOptions(model_complexity=0))
    video = PoseLandmarker.create_from_options(
        PoseLandmarkerOptions(model_complexity=0, running_mode=RunningMode.VIDEO, output_segmentation_masks=True)
    )
    yield image, video
    image.close()
    video.close()


@SETTINGS
@given(image=images())
def test_pose_landmarker_image_and_video_take_any_image_or_refuse_it_clearly(landmarkers, image):
    still, video = landmarkers
    _call(lambda: still.detect(image), valid_image(image))
    _call(lambda: video.detect_for_video(image), valid_image(image))
    assert still.detect(GOOD).pose_landmarks == [] and video.detect_for_video(GOOD).pose_landmarks == []


@SETTINGS
@given(image=images())
def test_solution_pose_takes_any_image_or_refuses_it_clearly(image):
    with Pose(model_complexity=0) as pose:
        _call(lambda: pose.process(image), valid_image(image))
        assert pose.process(GOOD).pose_landmarks is None


@settings(derandomize=True, deadline=None, max_examples=max(10, EXAMPLES // 4), database=None)
@given(frames=st.lists(images(), min_size=1, max_size=6))
def test_live_stream_delivers_every_accepted_frame_in_order(frames):
    delivered: list[int] = []
    done = threading.Event()

    def callback(result, image, timestamp_ms):
        delivered.append(timestamp_ms)

    options = PoseLandmarkerOptions(
        model_complexity=0, running_mode=RunningMode.LIVE_STREAM, result_callback=callback,
        queue_policy=QueuePolicy.BLOCK,
    )  # fmt: skip
    landmarker = PoseLandmarker.create_from_options(options)
    accepted = []
    for n, image in enumerate(frames):
        if _call(lambda image=image, n=n: landmarker.detect_async(image, n * 10), valid_image(image)) is None:
            accepted += [n * 10] if valid_image(image) else []
    closer = threading.Thread(target=lambda: (landmarker.close(), done.set()), daemon=True)
    closer.start()
    closer.join(60)
    assert done.is_set(), "close() hung"
    assert delivered == accepted


# Timestamps -------------------------------------------------------------------

timestamps = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6),
    st.integers(-(10**30), 10**30),
    st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e4, 1e4),
    st.booleans(),
    st.text(max_size=2),
    st.builds(np.float32, st.floats(-1e6, 1e6, width=32)),
    st.builds(np.int64, st.integers(-(2**40), 2**40)),
)


def expected_timestamp_us(last_us: int | None, value: object, step_us: int) -> int | type[Exception]:
    """The documented rule, written independently of the library's code."""
    if value is None:
        return step_us if last_us is None else last_us + step_us
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return TypeError
    try:
        ms = float(value)
    except OverflowError:
        return ValueError
    if ms != ms or abs(ms) == float("inf") or abs(ms) > MAX_TIMESTAMP_MS:
        return ValueError
    us = round(ms * 1000.0)
    return ValueError if last_us is not None and us <= last_us else us


@SETTINGS
@given(values=st.lists(timestamps, min_size=1, max_size=8))
def test_video_timestamps_follow_the_documented_rule_and_a_refused_one_uses_nothing_up(values):
    with PoseEstimator(model_complexity=0) as estimator:
        last = None
        for value in values:
            expected = expected_timestamp_us(last, value, estimator.frame_step_us)
            event("timestamp accepted" if isinstance(expected, int) else "timestamp refused")
            if isinstance(expected, int):
                assert estimator.process(GOOD, value).timestamp_us == expected
                last = expected
            else:
                with pytest.raises(expected):
                    estimator.process(GOOD, value)
            assert estimator.next_timestamp_us(None) == (last or 0) + estimator.frame_step_us


# Boxes and options ------------------------------------------------------------

boxes = st.one_of(
    st.none(),
    st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=4, max_size=4), max_size=3),
    st.lists(st.lists(st.floats(-100, 600), min_size=3, max_size=5), max_size=3),
    st.just("box"),
    st.just([[1, 2], [3]]),
)


def valid_boxes(value: object) -> bool:
    if value is None:
        return True
    try:
        array = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        return False
    if array.size == 0:
        return True
    return (
        array.ndim == 2
        and array.shape[1] == 4
        and bool(np.isfinite(array).all())
        and bool(((array[:, 2] > array[:, 0]) & (array[:, 3] > array[:, 1])).all())
    )


@SETTINGS
@given(value=boxes)
def test_caller_boxes_work_or_are_refused_clearly(estimators, value):
    still, _ = estimators
    result = _call(lambda: still.process(GOOD, boxes=value), valid_boxes(value))
    if result is not None:
        assert len(result) <= still.max_poses


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 5), st.none(), st.text(max_size=1), st.booleans()
)


VALID_OPTIONS = {
    "num_poses": st.integers(1, 4),
    "min_pose_detection_confidence": st.floats(0, 1),
    "fps": st.floats(0.5, 1e6),
    "max_queue_size": st.integers(1, 4),
    "detection_interval": st.integers(1, 10),
    "model_complexity": st.sampled_from([None, 0, 1]),
    "running_mode": st.sampled_from(list(RunningMode)),
    "queue_policy": st.sampled_from(list(QueuePolicy)),
}
INVALID_ENUMS = {"running_mode": st.just("VIDEO"), "queue_policy": st.just("block")}


@st.composite
def option_sets(draw) -> dict:
    """Valid options with at most one field replaced by anything (half of the sets are all valid)."""
    values = {name: draw(strategy) for name, strategy in VALID_OPTIONS.items()}
    spoiled = draw(st.sampled_from([None] * len(VALID_OPTIONS) + list(VALID_OPTIONS)))
    if spoiled is not None:
        values[spoiled] = draw(INVALID_ENUMS.get(spoiled, numbers))
    return values


@settings(derandomize=True, deadline=None, max_examples=max(10, EXAMPLES // 2), database=None)
@given(values=option_sets())
def test_options_work_or_are_refused_clearly(values):
    mode = values["running_mode"]
    options = PoseLandmarkerOptions(
        **values, result_callback=(lambda *a: None) if mode is RunningMode.LIVE_STREAM else None
    )
    try:
        landmarker = PoseLandmarker.create_from_options(options)
    except DOCUMENTED:
        event("options refused")
        return
    event("options accepted: landmarker works")
    with landmarker:
        if mode is RunningMode.IMAGE:
            assert landmarker.detect(GOOD).pose_landmarks == []
        elif mode is RunningMode.VIDEO:
            assert landmarker.detect_for_video(GOOD, 0).pose_landmarks == []
        else:
            landmarker.detect_async(GOOD, 0)
