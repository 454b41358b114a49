"""The drop-in ``solutions.pose`` API: MediaPipe's own pose_test behaviours and more."""

import re

import numpy as np
import pytest

from blazepose.solutions import pose as mp_pose
from conftest import NEEDS_MEDIAPIPE
from golden_astronaut import GOLDEN


def _landmarks_px(landmark_list, shape):
    h, w = shape[:2]
    return np.array([[lm.x * w, lm.y * h] for lm in landmark_list.landmark])


def _mask_stats(mask):
    ys, xs = np.nonzero(mask >= 0.5)
    return int(xs.size), np.array([xs.mean(), ys.mean()])


def test_invalid_image_shape():
    with mp_pose.Pose() as pose:
        with pytest.raises(ValueError, match=re.escape("Input image must contain three channel rgb data.")):
            pose.process(np.arange(36, dtype=np.uint8).reshape(3, 3, 4))


def test_blank_image():
    with mp_pose.Pose(enable_segmentation=True) as pose:
        image = np.full((100, 100, 3), 255, np.uint8)
        results = pose.process(image)
        assert results.pose_landmarks is None
        assert results.pose_world_landmarks is None
        assert results.segmentation_mask is None


@pytest.mark.parametrize("static_image_mode", [True, False], ids=["static", "video"])
@pytest.mark.parametrize("model_complexity", [0, 1, 2], ids=["lite", "full", "heavy"])
def test_on_real_photo(astronaut, static_image_mode, model_complexity):
    """Landmarks, world landmarks and mask on a real photo, as MediaPipe 0.10.14 gives them."""
    golden = GOLDEN[model_complexity]
    with mp_pose.Pose(
        static_image_mode=static_image_mode, model_complexity=model_complexity, enable_segmentation=True
    ) as pose:
        for frame in range(3):
            results = pose.process(astronaut)
            px = _landmarks_px(results.pose_landmarks, astronaut.shape)
            world = np.array([[lm.x, lm.y, lm.z] for lm in results.pose_world_landmarks.landmark])
            area, centroid = _mask_stats(results.segmentation_mask)
            assert results.segmentation_mask.dtype == np.float32
            assert results.segmentation_mask.shape == astronaut.shape[:2]
            if static_image_mode or frame == 0:
                # A detection: the same answer as MediaPipe to float precision.
                np.testing.assert_allclose(px, golden["landmarks_px"], atol=0.05)
                np.testing.assert_allclose(world, golden["world"], atol=2e-4)
                assert abs(area - golden["mask_area"]) <= 0.01 * golden["mask_area"]
                np.testing.assert_allclose(centroid, golden["mask_centroid_px"], atol=1.0)
            else:
                # Tracked from the previous frame's landmarks: face and
                # shoulders stay put; the arms, cut by the frame's edge, may
                # move (so does MediaPipe, see test_same_answers_as_live_mediapipe).
                head_and_shoulders = slice(0, 13)
                # 15 px is MediaPipe's own tolerance in its pose_test.py.
                np.testing.assert_allclose(
                    px[head_and_shoulders], np.array(golden["landmarks_px"])[head_and_shoulders], atol=15.0
                )
                assert abs(area - golden["mask_area"]) <= 0.1 * golden["mask_area"]


def test_result_fields_look_like_mediapipe(astronaut):
    with mp_pose.Pose(static_image_mode=True) as pose:
        results = pose.process(astronaut)
    nose = results.pose_landmarks.landmark[mp_pose.PoseLandmark.NOSE]
    assert isinstance(nose.x, float) and 0 <= nose.x <= 1
    assert nose.HasField("visibility") and not nose.HasField("presence")
    assert nose.presence == 0.0  # unset, as protobuf reads it
    assert len(results.pose_landmarks.landmark) == 33
    assert len(list(results.pose_world_landmarks.landmark)) == 33
    assert results.pose_world_landmarks.landmark[0].visibility == nose.visibility
    assert results.segmentation_mask is None  # segmentation is off by default
    assert "visibility" in str(nose)


def test_segmentation_smoothing_option_changes_nothing_as_in_mediapipe(astronaut):
    shifted = np.roll(astronaut, 6, axis=1)
    masks = {}
    for smooth in (True, False):
        with mp_pose.Pose(enable_segmentation=True, smooth_segmentation=smooth) as pose:
            pose.process(astronaut)
            masks[smooth] = pose.process(shifted).segmentation_mask
    np.testing.assert_array_equal(masks[True], masks[False])


def test_reset_starts_tracking_afresh(astronaut):
    with mp_pose.Pose() as pose:
        first = _landmarks_px(pose.process(astronaut).pose_landmarks, astronaut.shape)
        pose.process(np.roll(astronaut, 10, axis=0))
        pose.reset()
        again = _landmarks_px(pose.process(astronaut).pose_landmarks, astronaut.shape)
    np.testing.assert_array_equal(first, again)


def test_close_twice_and_process_after_close_raise(astronaut):
    pose = mp_pose.Pose()
    pose.close()
    with pytest.raises(ValueError, match="already None"):
        pose.close()
    with pytest.raises(ValueError, match="closed"):
        pose.process(astronaut)


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        (np.zeros((10, 10), np.uint8), ValueError, "three channel rgb"),
        (np.zeros((10, 10, 4), np.uint8), ValueError, "three channel rgb"),
        (np.zeros((10, 10, 3), np.float32), TypeError, "uint8"),
        (np.zeros((0, 10, 3), np.uint8), ValueError, "empty"),
        ([[[0, 0, 0]]], TypeError, "numpy"),
    ],
)
def test_bad_images_are_refused_and_the_instance_stays_usable(astronaut, image, error, message):
    with mp_pose.Pose() as pose:
        with pytest.raises(error, match=message):
            pose.process(image)
        assert pose.process(astronaut).pose_landmarks is not None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_complexity": 3}, "model_complexity"),
        ({"model_complexity": 1.0}, "model_complexity"),
        ({"min_detection_confidence": 1.5}, "min_detection_confidence"),
        ({"min_tracking_confidence": -0.1}, "min_tracking_confidence"),
        ({"min_tracking_confidence": float("nan")}, "min_tracking_confidence"),
    ],
)
def test_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mp_pose.Pose(**kwargs)


def test_confidence_must_be_a_number():
    with pytest.raises(TypeError, match="min_detection_confidence"):
        mp_pose.Pose(min_detection_confidence="high")


@NEEDS_MEDIAPIPE
@pytest.mark.parametrize("model_complexity", [0, 1, 2])
def test_same_answers_as_live_mediapipe(astronaut, model_complexity):
    from blazepose.evaluation.parity import mediapipe_pose

    frames = [astronaut, np.roll(astronaut, 8, axis=1), np.roll(astronaut, 16, axis=1)]
    with (
        mediapipe_pose(model_complexity=model_complexity) as theirs,
        mp_pose.Pose(model_complexity=model_complexity) as ours,
    ):
        for frame in frames:
            a, b = theirs.process(frame), ours.process(frame)
            np.testing.assert_array_equal(
                [[lm.x, lm.y, lm.z, lm.visibility] for lm in a.pose_landmarks.landmark],
                [[lm.x, lm.y, lm.z, lm.visibility] for lm in b.pose_landmarks.landmark],
            )
            # What print() shows: protobuf's text format (it was Python's float repr, 17 digits).
            assert str(b.pose_landmarks) == str(a.pose_landmarks)
            assert str(b.pose_world_landmarks) == str(a.pose_world_landmarks)
            assert repr(list(b.pose_landmarks.landmark)) == repr(list(a.pose_landmarks.landmark))


def test_landmarks_print_as_protobuf_prints_them():
    from blazepose.solutions.landmark_list import NormalizedLandmark

    landmark = NormalizedLandmark(x=0.44312167167663574, y=0.1, z=-3.5, visibility=1.0, presence=123456789.0)
    assert str(landmark) == "x: 0.443121672\ny: 0.1\nz: -3.5\nvisibility: 1\npresence: 123456792\n"
