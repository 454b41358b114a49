"""accuracy="high": settings checked when made, and which of one person's poses is kept."""

import numpy as np
import pytest

from blazepose.core.estimator import PoseEstimator
from blazepose.core.high_accuracy import HighAccuracySettings, RefinedPose, select_poses
from blazepose.core.landmarker import RawPose
from blazepose.core.recall import PeopleFound, RecallSettings, pose_region, same_pose
from blazepose.core.refine import RefineSettings
from blazepose.core.roi import NormRect, rect_iou
from blazepose.core.similarity import COCO_FROM_POSE, COCO_SIGMAS, pose_oks
from blazepose.core.topology import PoseLandmark as L
from blazepose.evaluation.coco import load_people, oks
from blazepose.io.photos import read_photo
from conftest import SHARED_DATA

NAN = float("nan")
COCO_MINI = SHARED_DATA / "coco_mini"


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("min_detection_score", 1.5, r"min_detection_score must be a number in \[0, 1\], got 1.5"),
        ("min_detection_score", NAN, "min_detection_score must be a number in"),
        ("tile_min_detection_score", -0.1, "tile_min_detection_score must be a number in"),
        ("window_min_presence", "0.9", r"window_min_presence must be a number in \[0, 1\], got '0.9'"),
        ("min_presence", 2.0, r"min_presence must be None or a number in \[0, 1\], got 2.0"),
        ("quarter_turns", (2, 4), r"quarter_turns must be a tuple of quarter turns 1, 2 or 3 .*, got \(2, 4\)"),
        ("quarter_turns", [1, 2], "quarter_turns must be a tuple"),
        ("quarter_turns", (0,), "quarter_turns must be a tuple"),
        ("mirror", "yes", "mirror must be True or False, got 'yes'"),
        ("tile_side", -320, "tile_side must be a whole number of pixels >= 0, got -320"),
        ("tile_side", 320.5, "tile_side must be a whole number"),
        (
            "small_tile_sides",
            (160, 0),
            r"small_tile_sides must be a tuple of whole numbers of pixels > 0, got \(160, 0\)",
        ),
        ("small_tile_sides", 160, "small_tile_sides must be a tuple"),
        ("tile_overlap", 1.0, r"tile_overlap must be a number in \[0, 1\), got 1.0"),
        ("verify_iou", 0.0, r"verify_iou must be None or a number in \(0, 1\], got 0.0"),
        ("window_sides", (0.5, 1.5), r"window_sides must be a tuple of fractions .* in \(0, 1\], got \(0.5, 1.5\)"),
        ("window_sides", 0.5, "window_sides must be a tuple"),
        ("window_stride", 0, "window_stride must be a finite number > 0, got 0"),
        ("window_stride", float("inf"), "window_stride must be a finite number > 0"),
    ],
)
def test_bad_recall_settings_are_refused_when_made(field, value, expected):
    with pytest.raises(ValueError, match="RecallSettings." + expected):
        RecallSettings(**{field: value})


@pytest.mark.parametrize(
    ("cls", "field", "value", "expected"),
    [
        (RefineSettings, "shift", -0.05, r"RefineSettings.shift must be a fraction of the region in \[0, 1\), got"),
        (RefineSettings, "scales", (0.9, 0.0), r"RefineSettings.scales must be a tuple of finite factors > 0, got"),
        (RefineSettings, "mirror", 1, "RefineSettings.mirror must be True or False, got 1"),
        (HighAccuracySettings, "video_tile_side", -1, "HighAccuracySettings.video_tile_side must be a whole number"),
        (HighAccuracySettings, "duplicate_iou", 1.2, r"HighAccuracySettings.duplicate_iou must be None or a number in"),
        (HighAccuracySettings, "max_spread", 0.0, "HighAccuracySettings.max_spread must be a finite number > 0, got"),
        (HighAccuracySettings, "recall", {"tile_side": 320}, "HighAccuracySettings.recall must be a RecallSettings"),
    ],
)
def test_bad_refine_and_high_accuracy_settings_are_refused_when_made(cls, field, value, expected):
    with pytest.raises(ValueError, match=expected):
        cls(**{field: value})


def test_good_settings_of_every_kind_are_accepted():
    recall = RecallSettings(
        min_detection_score=np.float32(0.3), min_presence=None, quarter_turns=(2,), mirror=False, tile_side=0,
        small_tile_sides=(np.int64(160),), tile_overlap=0.0, verify_iou=None, window_sides=(1.0, 1 / 3),
        window_stride=2,
    )  # fmt: skip
    refine = RefineSettings(second_pass=False, shift=0.05, scales=(0.9, 1.1))
    settings = HighAccuracySettings(recall=recall, refine=refine, video_tile_side=0, duplicate_iou=None)
    assert settings.recall.small_tile_sides == (160,) and settings.refine.runs == 1 + 1 + 2 + 2


W, H = 1000, 800
BODY = np.random.default_rng(3).uniform(0.3, 0.5, (39, 2))


def pose(offset: float, presence: float, visibility: float = 0.9) -> RawPose:
    """A pose whose landmarks are BODY moved right by ``offset`` (of the width)."""
    landmarks = np.zeros((39, 5), np.float32)
    landmarks[:, :2] = BODY + np.array([offset, 0.0])
    landmarks[:, 3:] = visibility
    roi = NormRect(0.4 + offset, 0.4, 0.3, 0.375, 0.0)
    return RawPose(landmarks, np.zeros((39, 3), np.float32), presence, roi, roi, None)


def test_of_one_persons_poses_the_best_scoring_is_kept_not_the_first():
    # Two poses of one person (landmarks 2 px apart), the later one scoring higher,
    # and a third person 0.4 of the image to the right.
    weaker, stronger, other = pose(0.0, 0.6), pose(0.002, 0.9), pose(0.4, 0.7)
    kept = select_poses(
        [RefinedPose(weaker, 0.0), RefinedPose(stronger, 0.0), RefinedPose(other, 0.0)],
        W,
        H,
        HighAccuracySettings(),
        0.5,
    )
    assert [p.score for p in kept] == pytest.approx([0.9, 0.7])  # in the order given
    np.testing.assert_array_equal(kept[0].landmarks, stronger.landmarks)
    # The first is kept where it is the better one.
    kept = select_poses([RefinedPose(stronger, 0.0), RefinedPose(weaker, 0.0)], W, H, HighAccuracySettings(), 0.5)
    assert [p.score for p in kept] == pytest.approx([0.9])


def test_the_pose_score_not_the_presence_decides_which_duplicate_is_kept():
    # Presence 0.9 but runs disagreeing by 2.5% of the region: score 0.9 * (1 - 0.025 / 0.06) = 0.525;
    # presence 0.8 with agreeing runs: 0.8, the one kept.
    unsure, sure = pose(0.0, 0.9), pose(0.003, 0.8)
    kept = select_poses([RefinedPose(unsure, 0.025), RefinedPose(sure, 0.0)], W, H, HighAccuracySettings(), 0.5)
    assert len(kept) == 1 and kept[0].score == pytest.approx(0.8)
    np.testing.assert_array_equal(kept[0].landmarks, sure.landmarks)
    # Without the pose score (score_spread=None) the presence decides.
    kept = select_poses(
        [RefinedPose(sure, 0.0), RefinedPose(unsure, 0.025)], W, H, HighAccuracySettings(score_spread=None), 0.5
    )
    assert len(kept) == 1 and kept[0].score == pytest.approx(0.9)


def test_duplicates_by_region_overlap_keep_the_best_too():
    # Landmarks 0.03 of the width apart (not the same body by landmarks) but regions
    # (from the alignment points) overlapping by IoU 0.68 >= duplicate_iou 0.6: one person, the better kept.
    a, b = pose(0.0, 0.5), pose(0.03, 0.95)
    assert not same_pose(a, b, W, H) and rect_iou(pose_region(a, W, H), pose_region(b, W, H), W, H) == pytest.approx(
        0.68, abs=0.01
    )
    kept = select_poses([RefinedPose(a, 0.0), RefinedPose(b, 0.0)], W, H, HighAccuracySettings(duplicate_iou=0.6), 0.5)
    assert [p.score for p in kept] == pytest.approx([0.95])
    kept = select_poses([RefinedPose(a, 0.0), RefinedPose(b, 0.0)], W, H, HighAccuracySettings(duplicate_iou=0.8), 0.5)
    assert [p.score for p in kept] == pytest.approx([0.5, 0.95])


def test_pose_oks_of_a_pose_with_itself_is_one_and_falls_with_a_known_shift():
    rng = np.random.default_rng(5)
    a = rng.uniform(100, 300, (33, 2))  # keypoint box about 200 x 200 px
    assert pose_oks(a, a) == pytest.approx(1.0)
    box = a[COCO_FROM_POSE]
    area = float(np.prod(box.max(0) - box.min(0)))
    # Every point 10 px to the right: the box's area is the same, each keypoint
    # scores exp(-100 / (2 area (2 sigma)^2)).
    expected = np.exp(-100.0 / (2 * area * (2 * COCO_SIGMAS) ** 2)).mean()
    assert pose_oks(a, a + np.array([10.0, 0.0])) == pytest.approx(expected)
    assert pose_oks(a + np.array([10.0, 0.0]), a) == pytest.approx(expected)  # symmetric
    assert 0.5 < expected < 0.9


def test_a_pose_whose_limbs_lie_elsewhere_is_another_person_with_the_oks_test_only():
    # The same face and shoulders, but elbows, wrists, hips, knees and ankles far off:
    # 6 of the 25 body landmarks moved, so their median distance is 0 (the landmarks
    # rule says one person), while 10 of the 17 COCO keypoints are far: OKS = 7/17.
    a = pose(0.0, 0.9)
    b = pose(0.0, 0.8)
    moved = [L.LEFT_ELBOW, L.RIGHT_ELBOW, L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_HIP, L.RIGHT_HIP]
    moved += [L.LEFT_KNEE, L.RIGHT_KNEE, L.LEFT_ANKLE, L.RIGHT_ANKLE]
    b.landmarks[moved, 0] += 0.3
    size = np.array([W, H])
    assert pose_oks(a.landmarks[:33, :2] * size, b.landmarks[:33, :2] * size) == pytest.approx(7 / 17, abs=1e-3)
    assert same_pose(a, b, W, H) and same_pose(a, b, W, H, min_oks=0.4)
    assert not same_pose(a, b, W, H, min_oks=0.5)
    found = PeopleFound(W, H, 0.8, same_person_oks=0.5)
    found.add(a, a.roi)
    assert not found.has(b) and found.has(pose(0.002, 0.7))  # 2 px off: the same person
    by_landmarks = PeopleFound(W, H, 0.8)
    by_landmarks.add(a, a.roi)
    assert by_landmarks.has(b)  # the landmarks alone: the same
    assert RecallSettings().same_person_oks == 0.5


@pytest.mark.parametrize("value", [1.5, -0.1, NAN, "0.5"])
def test_a_bad_same_person_oks_is_refused(value):
    with pytest.raises(ValueError, match=r"RecallSettings.same_person_oks must be None or a number in \[0, 1\], got"):
        RecallSettings(same_person_oks=value)


def test_a_pose_found_on_the_smaller_tiles_is_scored_lower_and_ranked_after():
    # Presence 0.9, runs agreeing: 0.9; the same from the smaller tiles (factor 0.25): 0.225.
    sure, small = pose(0.0, 0.9), pose(0.4, 0.9)
    refined = [RefinedPose(sure, 0.0), RefinedPose(small, 0.0, 0.25)]
    kept = select_poses(refined, W, H, HighAccuracySettings(), 0.5)
    assert [p.score for p in kept] == pytest.approx([0.9, 0.225])
    # With the runs disagreeing by 1.5% of the region as well: 0.9 * 0.75 * 0.25.
    kept = select_poses([RefinedPose(small, 0.015, 0.25)], W, H, HighAccuracySettings(), 0.5)
    assert kept[0].score == pytest.approx(0.16875)
    # Of one person found twice, the surer (unscaled) pose is kept even with a lower presence.
    kept = select_poses([RefinedPose(pose(0.0, 0.95), 0.0, 0.25), RefinedPose(pose(0.002, 0.5), 0.0)], W, H,
                        HighAccuracySettings(), 0.5)  # fmt: skip
    assert [p.score for p in kept] == pytest.approx([0.5])
    assert RecallSettings().small_tile_sides == (240,) and RecallSettings().small_tile_score == 0.25


@pytest.mark.skipif(not (COCO_MINI / "images" / "000000538113.jpg").is_file(), reason="needs ../shared/data/coco_mini")
def test_a_player_only_the_240_px_tiles_propose_is_found_and_scored_a_quarter():
    # The batter on deck of a baseball photo (box 50 x 125 px in front of the crowd):
    # no whole-image, turned, mirrored or 320 px tile pass proposes him; 240 px tiles do.
    people = load_people(COCO_MINI / "person_keypoints.json")
    (person,) = [p for p in people if p.image_file == "000000538113.jpg" and round(p.box[0]) == 387]
    image = read_photo(str(COCO_MINI / "images" / person.image_file))

    def best(settings: HighAccuracySettings) -> tuple[float, float]:
        with PoseEstimator(
            static_image_mode=True, model_complexity=1, max_poses=20, accuracy="high", high_accuracy=settings
        ) as high:
            r = high.process(image)
        scores = [oks(lm[COCO_FROM_POSE, :2], person.keypoints, person.area) for lm in r.landmarks_px]
        i = int(np.argmax(scores))
        return scores[i], float(r.pose_scores[i])

    without = HighAccuracySettings(recall=RecallSettings(small_tile_sides=()))
    assert best(without)[0] < 0.1
    found, score = best(HighAccuracySettings())
    assert found > 0.9 and 0 < score <= 0.25
