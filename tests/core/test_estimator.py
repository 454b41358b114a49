"""The numpy-first API."""

import numpy as np
import pytest

import blazepose
from blazepose import PoseEstimator, PoseResult
from conftest import NEEDS_SHARED, SHARED_DATA


def test_package_import_is_lazy_and_exposes_the_api():
    assert "PoseEstimator" in dir(blazepose)
    assert blazepose.PoseLandmark.NOSE == 0 and len(blazepose.LANDMARK_NAMES) == 33
    with pytest.raises(AttributeError):
        blazepose.nothing_here  # noqa: B018


def test_static_result_arrays(astronaut):
    with PoseEstimator(static_image_mode=True, enable_segmentation=True) as est:
        r = est.process(astronaut)
    assert isinstance(r, PoseResult) and len(r) == 1
    assert r.landmarks.shape == (1, 33, 3) and r.landmarks.dtype == np.float32
    assert r.world_landmarks.shape == (1, 33, 3)
    assert r.visibility.shape == r.presence.shape == (1, 33)
    assert r.segmentation_masks.shape == (1, 512, 512)
    assert r.image_size == (512, 512) and r.timestamp_us is None
    assert 0.5 <= r.pose_scores[0] <= 1.0
    # The face is above the shoulders, the nose between the eyes.
    nose, left_eye, right_eye, left_shoulder = r.landmarks_px[0, [0, 2, 5, 11], :2]
    assert nose[1] < left_shoulder[1]
    assert min(left_eye[0], right_eye[0]) < nose[0] < max(left_eye[0], right_eye[0])


def test_video_timestamps_must_increase_and_errors_leave_the_instance_usable(astronaut):
    with PoseEstimator() as est:
        assert est.process(astronaut, timestamp_ms=100).timestamp_us == 100_000
        with pytest.raises(ValueError, match="Input timestamp must be monotonically increasing"):
            est.process(astronaut, timestamp_ms=100)
        with pytest.raises(ValueError, match="Input timestamp must be monotonically increasing"):
            est.process(astronaut, timestamp_ms=50)
        with pytest.raises(TypeError, match="timestamp_ms"):
            est.process(astronaut, timestamp_ms="soon")
        with pytest.raises(ValueError, match="finite"):
            est.process(astronaut, timestamp_ms=float("nan"))
        r = est.process(astronaut, timestamp_ms=133.5)
        assert r.timestamp_us == 133_500 and len(r) == 1
        assert est.process(astronaut).timestamp_us == 133_500 + 33_333  # no timestamp: one step at 30 fps


def test_default_frame_rate_sets_the_implicit_step(astronaut):
    with PoseEstimator(fps=50) as est:
        assert est.process(astronaut).timestamp_us == 20_000
        assert est.process(astronaut).timestamp_us == 40_000
    with pytest.raises(ValueError, match="fps"):
        PoseEstimator(fps=0)


def test_track_id_is_kept_while_tracked_and_renewed_after_reset(astronaut):
    with PoseEstimator() as est:
        ids = [int(est.process(astronaut).track_ids[0]) for _ in range(3)]
        est.reset()
        after = int(est.process(astronaut).track_ids[0])
    assert ids == [ids[0]] * 3 and after != ids[0]


def test_mask_smoothing_blends_in_the_numpy_api(astronaut):
    shifted = np.roll(astronaut, 12, axis=1)
    masks = {}
    for smooth in (True, False):
        with PoseEstimator(enable_segmentation=True, smooth_segmentation=smooth) as est:
            est.process(astronaut)
            masks[smooth] = est.process(shifted).segmentation_masks[0]
    diff = np.abs(masks[True] - masks[False])
    assert diff.max() > 0.05  # uncertain pixels lean on the previous mask
    assert np.median(diff) < 1e-3  # confident ones do not


def test_landmark_smoothing_acts_from_the_second_frame(astronaut):
    shifted = np.roll(astronaut, 5, axis=0)
    runs = {}
    for smooth in (True, False):
        with PoseEstimator(smooth_landmarks=smooth) as est:
            runs[smooth] = [est.process(frame).landmarks_px[0] for frame in (astronaut, shifted)]
    np.testing.assert_array_equal(runs[True][0], runs[False][0])  # the first value passes through
    lag = np.abs(runs[True][1] - runs[False][1])[:11, 1]
    assert lag.max() > 0.5  # the filtered face lags behind the 5-pixel jump


def test_closed_estimator_refuses_work(astronaut):
    est = PoseEstimator()
    est.close()
    est.close()  # closing twice is harmless here
    assert est.closed
    with pytest.raises(ValueError, match="closed"):
        est.process(astronaut)


@pytest.mark.parametrize("max_poses", [0, -1, 2.5])
def test_bad_max_poses(max_poses):
    with pytest.raises(ValueError, match="max_poses"):
        PoseEstimator(max_poses=max_poses)


def test_id_memory_takes_numpy_integers_as_the_other_counts_do():
    with PoseEstimator(id_memory=np.int64(3), max_poses=np.int64(2)) as est:
        assert est.id_memory == 3 and type(est.id_memory) is int
    with pytest.raises(ValueError, match=r"id_memory must be an int >= 0, got np.int64\(-1\)"):
        PoseEstimator(id_memory=np.int64(-1))


@NEEDS_SHARED
def test_several_poses_in_a_group_photo():
    import cv2

    path = SHARED_DATA / "images" / "openpose" / "COCO_val2014_000000000459.jpg"
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    with PoseEstimator(static_image_mode=True, max_poses=4) as est:
        r = est.process(rgb)
    assert 1 <= len(r) <= 4
    assert len(set(r.track_ids.tolist())) == len(r)
    with PoseEstimator(static_image_mode=True, max_poses=1) as est:
        one = est.process(rgb)
    np.testing.assert_array_equal(r.landmarks[0], one.landmarks[0])  # best first


def test_one_person_walking_is_never_returned_twice(astronaut):
    # The detector, run while fewer than max_poses are tracked, found the tracked person again in a
    # region of another size (IoU 0.44-0.46, under overlap_iou): two ids, the same landmarks.
    seen = []
    with PoseEstimator(max_poses=2, model_complexity=0) as estimator:
        for t in range(60):
            canvas = np.zeros((560, 1400, 3), np.uint8)
            canvas[24:536, 10 + 14 * t : 522 + 14 * t] = astronaut
            seen.append(len(estimator.process(canvas, timestamp_ms=33 * t)))
    assert max(seen) == 1 and seen.count(1) >= 50, seen
