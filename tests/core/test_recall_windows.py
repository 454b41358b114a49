"""accuracy="high": the sliding windows proposed without the detector, and the pose score."""

import numpy as np
import pytest

from blazepose.core.estimator import PoseEstimator
from blazepose.core.high_accuracy import HighAccuracySettings, consistency
from blazepose.core.recall import RecallSettings, window_regions
from blazepose.core.results import PoseResult
from blazepose.evaluation.accuracy import pose_ranking_scores
from conftest import SHARED_DATA

COCO_MINI = SHARED_DATA / "coco_mini"


def test_windows_of_half_the_short_side_on_a_640x480_image():
    regions = window_regions(640, 480, 0.5, 1 / 3)
    # 240 px windows 80 px apart: centres 120, 200, ..., 520 across, 120, 200, 280, 360 down.
    assert len(regions) == 6 * 4
    centres = np.array([(r.x_center * 640, r.y_center * 480) for r in regions])
    np.testing.assert_allclose(centres[:6, 0], [120, 200, 280, 360, 440, 520])
    np.testing.assert_allclose(centres[::6, 1], [120, 200, 280, 360])
    for r in regions:
        assert r.rotation == 0.0
        assert r.width * 640 == pytest.approx(240) and r.height * 480 == pytest.approx(240)


def test_windows_spread_evenly_to_the_edges_when_the_stride_does_not_divide():
    regions = window_regions(640, 427, 1 / 3, 1 / 3)
    side = 427 / 3
    xs = sorted({round(r.x_center * 640, 6) for r in regions})
    ys = sorted({round(r.y_center * 427, 6) for r in regions})
    assert xs[0] == pytest.approx(side / 2) and xs[-1] == pytest.approx(640 - side / 2)
    assert ys[0] == pytest.approx(side / 2) and ys[-1] == pytest.approx(427 - side / 2)
    assert max(np.diff(xs)) <= side / 3 + 1e-5 and max(np.diff(ys)) <= side / 3 + 1e-5
    assert len(regions) == len(xs) * len(ys) == 12 * 7


def test_a_window_as_large_as_the_short_side_slides_along_the_long_side_only():
    regions = window_regions(300, 100, 1.0, 0.5)
    assert [round(r.x_center * 300) for r in regions] == [50, 100, 150, 200, 250]
    assert {r.y_center for r in regions} == {0.5}


@pytest.mark.parametrize(("side", "stride"), [(0.0, 0.3), (1.5, 0.3), (0.5, 0.0), (0.5, -1.0)])
def test_bad_window_settings_raise_a_clear_value_error(side, stride):
    with pytest.raises(ValueError, match=r"window side must be in \(0, 1\] and stride > 0, got"):
        window_regions(640, 480, side, stride)


def test_consistency_halves_the_score_at_half_the_scale_and_never_reaches_zero():
    assert consistency(0.0, 0.06) == 1.0
    assert consistency(0.03, 0.06) == pytest.approx(0.5)
    assert consistency(0.06, 0.06) == 0.01
    assert consistency(0.5, 0.06) == 0.01


def result_with(visibility: np.ndarray, scores: np.ndarray) -> PoseResult:
    n = len(scores)
    return PoseResult(
        landmarks=np.zeros((n, 33, 3), np.float32),
        world_landmarks=np.zeros((n, 33, 3), np.float32),
        visibility=visibility.astype(np.float32),
        presence=np.ones((n, 33), np.float32),
        pose_scores=scores.astype(np.float32),
        rois=np.zeros((n, 5), np.float32),
        image_size=(10, 10),
    )


def test_coco_ranking_uses_the_pose_score_in_high_accuracy_only():
    visibility = np.stack([np.full(33, 0.9), np.full(33, 0.6)])
    r = result_with(visibility, np.array([0.2, 1.0]))
    np.testing.assert_allclose(pose_ranking_scores(r, "fast"), [0.9, 0.6], rtol=1e-6)
    np.testing.assert_allclose(pose_ranking_scores(r, "high"), [0.18, 0.6], rtol=1e-6)


def test_high_pose_score_is_presence_times_the_runs_agreement(astronaut):
    plain = HighAccuracySettings(score_spread=None)
    with PoseEstimator(static_image_mode=True, model_complexity=1, accuracy="high", high_accuracy=plain) as est:
        a = est.process(astronaut)
    with PoseEstimator(static_image_mode=True, model_complexity=1, accuracy="high") as est:
        b = est.process(astronaut)
    assert len(a) == len(b) == 1
    np.testing.assert_array_equal(a.landmarks, b.landmarks)  # the score only, not the pose
    assert 0.5 < b.pose_scores[0] < a.pose_scores[0]  # the runs agree well, not exactly


@pytest.mark.skipif(not (COCO_MINI / "images").is_dir(), reason=f"needs the COCO photos at {COCO_MINI}")
def test_windows_find_a_small_person_no_detector_pass_proposes():
    from blazepose.evaluation.coco import COCO_FROM_POSE, load_people, oks
    from blazepose.io.photos import read_photo

    name = "000000174375.jpg"  # development half; a 27x72 px person at x=398, y=126
    image = read_photo(str(COCO_MINI / "images" / name))
    person = next(
        p for p in load_people(COCO_MINI / "person_keypoints.json") if p.image_file == name and 390 < p.box[0] < 405
    )

    def best_oks(settings: HighAccuracySettings) -> float:
        with PoseEstimator(
            static_image_mode=True, model_complexity=1, accuracy="high", max_poses=20, high_accuracy=settings
        ) as est:
            r = est.process(image)
        return max((oks(lm[COCO_FROM_POSE, :2], person.keypoints, person.area) for lm in r.landmarks_px), default=0.0)

    assert best_oks(HighAccuracySettings()) < 0.1  # no detector pass, turned, mirrored or tiled, finds them
    windows = RecallSettings(window_sides=(0.5, 1 / 3), window_min_presence=0.8)
    assert best_oks(HighAccuracySettings(recall=windows)) > 0.5


@pytest.mark.parametrize("scale", [0.0, -0.06, float("nan"), float("inf")])
def test_a_score_spread_that_would_not_make_a_score_in_0_1_is_refused(scale):
    """0 divided by zero on the first photo; below 0 a pose scored more than its presence (1.5x at max_spread)."""
    with pytest.raises(ValueError, match="expected score_spread None or a finite number > 0"):
        HighAccuracySettings(score_spread=scale)
