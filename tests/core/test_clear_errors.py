"""Clear errors and no hidden loss for hostile calls into the APIs (issue #11)."""

import json
import threading
import tracemalloc

import numpy as np
import pytest

from blazepose import PoseEstimator, PoseLandmarker, PoseLandmarkerOptions
from blazepose.io.landmark_files import load_landmarks
from blazepose.solutions.pose import Pose

TIMEOUT_S = 30


def _collide(instance, holder, call, second=None):
    """Holds ``holder``'s ``_process`` inside one thread's ``call`` while this thread calls
    ``second`` (default: ``call`` again), which must raise the clear error."""
    inside, release = threading.Event(), threading.Event()
    real = holder._process

    def blocking(*args, **kwargs):
        inside.set()
        release.wait(TIMEOUT_S)
        return real(*args, **kwargs)

    holder._process = blocking
    first = threading.Thread(target=call, daemon=True)
    first.start()
    try:
        assert inside.wait(TIMEOUT_S)
        with pytest.raises(RuntimeError, match="another thread was inside a call of the same instance"):
            (second or call)()
    finally:
        holder._process = real
        release.set()
        first.join(TIMEOUT_S)
    assert not first.is_alive()
    call()  # usable afterwards


def test_estimator_used_from_two_threads_at_once_raises_a_clear_error(astronaut):
    with PoseEstimator(static_image_mode=True, model_complexity=0) as estimator:
        _collide(estimator, estimator, lambda: estimator.process(astronaut))
        # Closing (freeing the models) while another thread runs them is refused too.
        _collide(estimator, estimator, lambda: estimator.process(astronaut), estimator.close)


def test_solution_pose_used_from_two_threads_at_once_raises_a_clear_error(astronaut):
    with Pose(static_image_mode=True, model_complexity=0) as pose:
        _collide(pose, pose._estimator, lambda: pose.process(astronaut))


@pytest.mark.parametrize("timestamp", [10**400, 1e308, -1e308, 2.0**60], ids=["int-1e400", "1e308", "-1e308", "2**60"])
def test_huge_timestamps_are_value_errors_and_use_nothing_up(astronaut, timestamp):
    with PoseEstimator(model_complexity=0) as estimator:
        with pytest.raises(ValueError, match="timestamp_ms must be"):
            estimator.process(astronaut, timestamp)
        assert len(estimator.process(astronaut, 0)) == 1


@pytest.mark.parametrize("fps", [2e6, float("inf"), float("nan"), 0, -1])
def test_fps_the_microsecond_clock_cannot_step_is_refused(fps):
    with pytest.raises(ValueError, match="fps must be a number in"):
        PoseEstimator(fps=fps)


def test_num_poses_zero_is_reported_as_num_poses():
    with pytest.raises(ValueError, match="num_poses must be an int >= 1, got 0"):
        PoseLandmarker.create_from_options(PoseLandmarkerOptions(num_poses=0))


def test_duplicate_caller_boxes_give_one_pose(astronaut):
    box = [150.0, 30.0, 420.0, 510.0]
    with PoseEstimator(static_image_mode=True, model_complexity=0, max_poses=3) as estimator:
        assert len(estimator.process(astronaut, boxes=np.array([box, box, [151.0, 31.0, 421.0, 509.0]]))) == 1


def test_images_beyond_the_crop_kernels_range_are_refused_clearly():
    wide = np.zeros((8, 40000, 3), np.uint8)
    with PoseEstimator(static_image_mode=True, model_complexity=0) as estimator:
        with pytest.raises(ValueError, match="at most 32767 pixels"):
            estimator.process(wide)
        with pytest.raises(ValueError, match="at most 32767 pixels"):
            estimator.process(wide, boxes=np.array([[39000.0, 0.0, 39990.0, 8.0]]))


def test_empty_or_malformed_landmark_files_are_value_errors_naming_the_file(tmp_path):
    error_first = '{"error": "cut"}\n{"frame": 0}\n'  # an error line ends a file; one before records is malformed
    for name, content in [
        ("a.csv", ""),
        ("b.jsonl", "{"),
        ("c.npz", "xx"),
        ("d.jsonl", "{}"),
        ("e.jsonl", error_first),
    ]:
        (tmp_path / name).write_text(content)
        with pytest.raises(ValueError, match=name):
            load_landmarks(tmp_path / name)


def test_mask_memory_is_bounded_for_large_frames(astronaut):
    import cv2

    side = 2000
    frame = cv2.resize(astronaut, (side, side))
    mask_bytes = side * side * 4
    with PoseEstimator(model_complexity=0, enable_segmentation=True, smooth_segmentation=True) as estimator:
        estimator.process(frame, 0)
        tracemalloc.start()
        try:
            result = estimator.process(frame, 33)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert len(result) == 1
    # The new mask and small bands (the previous mask lives on from the last call); it was about 9 masks.
    assert peak < 2 * mask_bytes, f"peak {peak / 1e6:.0f} MB for {mask_bytes / 1e6:.0f} MB masks"


def test_zero_detection_confidence_on_a_blank_frame_finds_nothing_instead_of_failing():
    # Found by the options property test: detections with score 0 averaged to NaN boxes.
    with PoseEstimator(static_image_mode=True, model_complexity=0, min_detection_confidence=0.0) as estimator:
        assert len(estimator.process(np.zeros((48, 48, 3), np.uint8))) == 0


def test_a_bad_line_of_a_landmark_file_is_named_by_its_number(tmp_path):
    from blazepose.core.results import PoseResult
    from blazepose.io.landmark_files import FrameRecord, record_to_dict

    empty = PoseResult.empty((10, 10), with_masks=False)
    lines = [json.dumps(record_to_dict(FrameRecord(n, n * 33.0, empty))) for n in range(3)]
    path = tmp_path / "cut.landmarks.jsonl"
    path.write_text("\n".join([*lines, lines[0][:20]]) + "\n")  # the last line cut part way
    with pytest.raises(ValueError, match=r"cut.landmarks.jsonl: .*\(line 4: .* at column \d+\)"):
        load_landmarks(path)
    path.write_text("\n".join([lines[0], '{"frame": 1}']) + "\n")
    with pytest.raises(ValueError, match=r"\(line 2: KeyError: "):
        load_landmarks(path)
