"""accuracy="high" on photos: the option, recall passes and test-time augmentation."""

import cv2
import numpy as np
import pytest

from blazepose.core.estimator import PoseEstimator
from blazepose.core.landmarker import RawPose
from blazepose.core.recall import PeopleFound, RecallSettings, mirrored, tile_views, turned, views
from blazepose.core.refine import MIRROR_ORDER, mirror_region, spread, unmirror_pose
from blazepose.core.roi import NormRect
from blazepose.core.topology import PoseLandmark as L
from blazepose.tasks import PoseLandmarker, PoseLandmarkerOptions
from conftest import SHARED_DATA

LSP = SHARED_DATA / "lsp"


@pytest.fixture(scope="module")
def fast():
    with PoseEstimator(static_image_mode=True, model_complexity=1) as estimator:
        yield estimator


@pytest.fixture(scope="module")
def high():
    with PoseEstimator(static_image_mode=True, model_complexity=1, accuracy="high") as estimator:
        yield estimator


@pytest.mark.parametrize("bad", ["accurate", "HIGH", None, 1, ""])
def test_bad_accuracy_values_raise_a_clear_value_error(bad):
    with pytest.raises(ValueError, match=r"accuracy must be one of \('fast', 'high'\), got"):
        PoseEstimator(accuracy=bad)
    with pytest.raises(ValueError, match="accuracy must be one of"):
        PoseLandmarker.create_from_options(PoseLandmarkerOptions(accuracy=bad))


def test_the_legacy_solution_has_no_accuracy_option():
    from blazepose.solutions.pose import Pose

    with pytest.raises(TypeError):
        Pose(accuracy="high")  # type: ignore[call-arg]


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_turned_views_map_points_back(k):
    image = np.zeros((30, 50, 3), np.uint8)
    image[7, 40] = 255  # one bright pixel at x=40, y=7
    view, back = turned(image, k)
    y, x = np.argwhere(view[:, :, 0])[0]
    centre = np.array([(x + 0.5) / view.shape[1], (y + 0.5) / view.shape[0]])
    np.testing.assert_allclose(back(centre) * [50, 30], [40.5, 7.5], atol=1e-9)


def test_mirrored_view_and_tiles_map_points_back():
    image = np.zeros((1080, 1920, 3), np.uint8)
    view, back = mirrored(image)
    assert view.shape == image.shape
    np.testing.assert_allclose(back(np.array([0.25, 0.5])), [0.75, 0.5])
    tiles = list(tile_views(image, RecallSettings(), 640))
    assert len(tiles) > 1
    covered = np.zeros((1080, 1920), bool)
    for tile, back in tiles:
        x0, y0 = np.rint(back(np.array([0.0, 0.0])) * [1920, 1080]).astype(int)
        x1, y1 = np.rint(back(np.array([1.0, 1.0])) * [1920, 1080]).astype(int)
        assert (y1 - y0, x1 - x0) == tile.shape[:2] and max(tile.shape[:2]) <= 640
        covered[y0:y1, x0:x1] = True
    assert covered.all()


def test_mirror_order_swaps_left_and_right_only():
    assert MIRROR_ORDER[L.LEFT_SHOULDER] == L.RIGHT_SHOULDER and MIRROR_ORDER[L.RIGHT_ANKLE] == L.LEFT_ANKLE
    assert MIRROR_ORDER[L.MOUTH_LEFT] == L.MOUTH_RIGHT and MIRROR_ORDER[L.NOSE] == L.NOSE
    assert (MIRROR_ORDER[33:] == np.arange(33, 39)).all()
    assert (MIRROR_ORDER[MIRROR_ORDER] == np.arange(39)).all()


def test_mirrored_run_swapped_back_agrees_with_the_direct_run(fast, astronaut):
    h, w = astronaut.shape[:2]
    direct = fast.process(astronaut)
    roi = NormRect(*direct.rois[0].tolist())
    first = fast.pose_in_region(astronaut, roi)
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    seen_mirrored = fast.pose_in_region(flipped, mirror_region(roi))
    assert first is not None and seen_mirrored is not None
    back = unmirror_pose(seen_mirrored, roi)
    px = np.array([w, h])
    # The model is not exactly mirror-symmetric: a few pixels apart, but the far
    # side is the other side of the body (a missing swap would put it there).
    for name in (L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_EAR, L.RIGHT_EAR, L.MOUTH_LEFT, L.LEFT_EYE_OUTER):
        gap = np.linalg.norm((back.landmarks[name, :2] - first.landmarks[name, :2]) * px)
        other = MIRROR_ORDER[name]
        across = np.linalg.norm((back.landmarks[name, :2] - first.landmarks[other, :2]) * px)
        assert gap < 20 and across > 2 * gap, (name.name, gap, across)
    # World landmarks: x mirrored back, so the left shoulder keeps its side.
    assert np.sign(back.world[L.LEFT_SHOULDER, 0]) == np.sign(first.world[L.LEFT_SHOULDER, 0])


def test_high_refines_but_keeps_the_same_person(fast, high, astronaut):
    a, b = fast.process(astronaut), high.process(astronaut)
    assert len(a) == len(b) == 1
    gap = np.linalg.norm((a.landmarks_px[0, :25, :2] - b.landmarks_px[0, :25, :2]), axis=-1)
    assert np.median(gap) < 8 and gap.max() > 0  # refined, not replaced


def test_small_person_in_a_big_canvas(fast, high, astronaut):
    canvas = np.zeros((1080, 1920, 3), np.uint8)
    canvas[700:940, 1400:1640] = cv2.resize(astronaut, (240, 240), interpolation=cv2.INTER_AREA)
    assert len(fast.process(canvas)) == 0  # MediaPipe's detector misses a 240 px person in 1080p
    found = high.process(canvas)
    assert len(found) == 1
    # The face and shoulders where they are in the full-size photo, scaled down.
    upright = fast.process(astronaut).landmarks_px[0, :13, :2] * 240 / 512 + [1400, 700]
    assert np.median(np.linalg.norm(found.landmarks_px[0, :13, :2] - upright, axis=-1)) < 12


@pytest.mark.skipif(not (LSP / "joints.mat").is_file(), reason=f"needs Leeds Sports Pose at {LSP}")
def test_upside_down_athlete_is_found_only_by_high(fast, high):
    from scipy.io import loadmat

    from blazepose.io.photos import read_photo

    photo = read_photo(str(LSP / "images" / "im0018.jpg"))
    turned_photo = np.ascontiguousarray(photo[::-1, ::-1])
    h, w = photo.shape[:2]
    joints = loadmat(str(LSP / "joints.mat"))["joints"][:2, :, 17].T  # (14, 2) x, y
    truth = np.array([w - 1, h - 1]) - joints  # turned by 180 degrees
    # LSP: right ankle, knee, hip, left hip, knee, ankle, right wrist, elbow, shoulder, left shoulder, elbow, wrist.
    ours = [L.RIGHT_ANKLE, L.RIGHT_KNEE, L.RIGHT_HIP, L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.RIGHT_WRIST,
            L.RIGHT_ELBOW, L.RIGHT_SHOULDER, L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST]  # fmt: skip
    torso = np.linalg.norm(truth[9] - truth[2])
    assert len(fast.process(turned_photo)) == 0
    found = high.process(turned_photo)
    assert len(found) == 1
    correct = np.linalg.norm(found.landmarks_px[0, ours, :2] - truth[:12], axis=-1) <= 0.2 * torso
    assert correct.mean() >= 0.6


def test_live_video_finds_a_small_person_through_tiles(astronaut):
    canvas = np.zeros((1080, 1920, 3), np.uint8)
    canvas[700:940, 1400:1640] = cv2.resize(astronaut, (240, 240), interpolation=cv2.INTER_AREA)
    found = {}
    for accuracy in ("fast", "high"):
        with PoseEstimator(model_complexity=1, accuracy=accuracy) as live:
            found[accuracy] = [len(live.process(canvas, 33.0 * i)) for i in range(3)]
    assert found["fast"] == [0, 0, 0]
    # Found on the first frame by the tiles; (this half-body photo is not always
    # kept by the tracker, and is found again by the tiles when lost).
    assert found["high"][0] == 1 and sum(found["high"]) >= 2


def _raw(points: np.ndarray, roi: NormRect) -> RawPose:
    landmarks = np.zeros((39, 5), np.float32)
    landmarks[:, :2] = points
    return RawPose(landmarks, np.zeros((39, 3), np.float32), 1.0, roi, roi, None)


def test_spread_is_zero_for_agreeing_runs_and_grows_with_disagreement():
    roi = NormRect(0.5, 0.5, 0.2, 0.2, 0.0)
    points = np.random.default_rng(0).uniform(0.4, 0.6, (39, 2))
    assert spread([_raw(points, roi)], roi) == 0.0
    assert spread([_raw(points, roi)] * 3, roi) == 0.0
    # Two runs 0.02 apart: each is 0.01 from their mean, 5% of the 0.2 wide region.
    shifted = _raw(points + np.array([0.02, 0.0]), roi)
    assert spread([_raw(points, roi), shifted], roi) == pytest.approx(0.05)


def test_people_found_tells_the_same_person_by_landmarks_not_by_region():
    people = PeopleFound(1000, 1000, overlap_iou=0.5)
    roi = NormRect(0.5, 0.5, 0.3, 0.3, 0.0)
    body = np.random.default_rng(1).uniform(0.4, 0.6, (39, 2))
    people.add(_raw(body, roi), roi)
    neighbour_roi = roi._replace(x_center=0.56)  # IoU about 0.67
    assert people.overlaps(neighbour_roi) and not people.overlaps(neighbour_roi, 0.8)
    assert people.has(_raw(body + 0.005, neighbour_roi))  # 7 px off: the same person
    assert not people.has(_raw(body + np.array([0.06, 0.0]), neighbour_roi))  # another, overlapping


def test_small_tiles_follow_the_large_ones():
    image = np.zeros((427, 640, 3), np.uint8)
    large = list(tile_views(image, RecallSettings(), 320))
    small = list(tile_views(image, RecallSettings(), 160))
    found = list(views(image, RecallSettings(small_tile_sides=(160,), small_tile_score=0.3), nobody_found=False))
    assert len(found) == 5 + len(large) + len(small) and len(small) > len(large) > 1
    assert all(max(view.shape[:2]) <= 160 for view, _, _, _ in found[-len(small) :])
    # Poses first found on the smaller tiles are scored lower; on every other view as they are.
    assert [v.score_factor for v in found] == [1.0] * (5 + len(large)) + [0.3] * len(small)


@pytest.mark.parametrize(("side", "gap"), [(360, 220), (300, 160)])
def test_two_overlapping_people_are_both_kept(fast, astronaut, side, gap):
    # Two copies of the photo, their regions overlapping (IoU about 0.6-0.7):
    # the older rule (region IoU >= 0.5 is one person) kept only one of them.
    canvas = np.full((720, 1280, 3), 90, np.uint8)
    small = cv2.resize(astronaut, (side, side), interpolation=cv2.INTER_AREA)
    canvas[300 : 300 + side, 400 : 400 + side] = small
    canvas[300 : 300 + side, 400 + gap : 400 + gap + side] = small
    nose = fast.process(astronaut).landmarks_px[0, L.NOSE, :2] * side / 512 + [400, 300]
    with PoseEstimator(static_image_mode=True, model_complexity=1, accuracy="high", max_poses=4) as high:
        found = high.process(canvas)
    assert len(found) == 2
    noses = sorted(found.landmarks_px[:, L.NOSE, :2].tolist())
    np.testing.assert_allclose(noses, [nose, nose + np.array([gap, 0])], atol=12)
