import numpy as np
import pytest

import blazepose as mp


def _landmark_list(points):
    from blazepose.solutions.landmark_list import landmark_list_from_arrays

    pts = np.asarray(points, np.float32)
    xyz = np.concatenate([pts[:, :2], np.zeros((len(pts), 1), np.float32)], axis=1)
    return landmark_list_from_arrays(xyz, pts[:, 2] if pts.shape[1] > 2 else None, None)


def test_draw_landmarks_draws_dots_and_lines_where_expected():
    image = np.zeros((100, 200, 3), np.uint8)
    lms = _landmark_list([[0.25, 0.5, 1.0], [0.75, 0.5, 1.0], [0.5, 0.9, 0.1]])
    mp.solutions.drawing_utils.draw_landmarks(image, lms, [(0, 1), (1, 2)])
    assert tuple(image[50, 50]) == (0, 0, 255)  # red dot centre (BGR)
    assert tuple(image[50, 100]) == (224, 224, 224)  # white line between the two visible points
    assert image[75:, 100:].max() == 0  # the low-visibility point and its line are skipped


def test_draw_landmarks_with_default_pose_style(astronaut):
    image = np.ascontiguousarray(astronaut[..., ::-1])
    with mp.solutions.pose.Pose(static_image_mode=True) as pose:
        results = pose.process(astronaut)
    before = image.copy()
    mp.solutions.drawing_utils.draw_landmarks(
        image,
        results.pose_landmarks,
        mp.solutions.pose.POSE_CONNECTIONS,
        landmark_drawing_spec=mp.solutions.drawing_styles.get_default_pose_landmarks_style(),
    )
    changed = np.any(image != before, axis=2)
    nose = results.pose_landmarks.landmark[0]
    assert changed[int(nose.y * 512), int(nose.x * 512)]
    assert 0.001 < changed.mean() < 0.2


def test_draw_landmarks_errors_and_no_op():
    image = np.zeros((10, 10, 3), np.uint8)
    mp.solutions.drawing_utils.draw_landmarks(image, None)
    assert image.max() == 0
    lms = _landmark_list([[0.5, 0.5, 1.0]])
    with pytest.raises(ValueError, match="Invalid connection from landmark #0 to landmark #5"):
        mp.solutions.drawing_utils.draw_landmarks(image, lms, [(0, 5)])
    with pytest.raises(ValueError, match="three channel bgr"):
        mp.solutions.drawing_utils.draw_landmarks(np.zeros((10, 10, 4), np.uint8), lms)


def test_default_pose_style_colours():
    style = mp.solutions.drawing_styles.get_default_pose_landmarks_style()
    assert len(style) == 33
    assert style[mp.solutions.pose.PoseLandmark.LEFT_WRIST].color == (0, 138, 255)
    assert style[mp.solutions.pose.PoseLandmark.RIGHT_WRIST].color == (231, 217, 0)
    assert style[mp.solutions.pose.PoseLandmark.NOSE].color == (224, 224, 224)


def test_plot_landmarks_makes_a_3d_figure():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    lms = _landmark_list([[0.1, 0.2, 1.0], [0.3, 0.4, 1.0]])
    fig = mp.solutions.drawing_utils.plot_landmarks(lms, [(0, 1)])
    ax = fig.axes[0]
    assert ax.name == "3d" and len(ax.lines) == 1 and len(ax.collections) == 2


def test_draw_result_on_numpy_result(astronaut):
    with mp.PoseEstimator(static_image_mode=True) as est:
        r = est.process(astronaut)
    image = np.zeros((512, 512, 3), np.uint8)
    mp.draw_result(image, r)
    assert image.any()
