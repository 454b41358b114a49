import numpy as np
import pytest

from blazepose.evaluation.coco import (
    COCO_FROM_POSE,
    COCO_SIGMAS,
    AnnotatedPerson,
    count_found,
    load_people,
    oks,
    to_coco_keypoints,
)
from conftest import NEEDS_SHARED, SHARED_DATA


def _person(xy, area=10000.0, labelled=None):
    kp = np.zeros((17, 3))
    kp[:, :2] = xy
    kp[:, 2] = 2 if labelled is None else labelled
    return AnnotatedPerson("x.jpg", kp, area, int((kp[:, 2] > 0).sum()))


def test_mapping_picks_the_coco_landmarks():
    assert COCO_FROM_POSE.tolist() == [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
    lm = np.arange(33 * 3, dtype=float).reshape(33, 3)
    np.testing.assert_array_equal(to_coco_keypoints(lm)[1], lm[2, :2])


def test_oks_known_values():
    xy = np.random.default_rng(0).uniform(0, 100, (17, 2))
    person = _person(xy)
    assert oks(xy, person.keypoints, person.area) == pytest.approx(1.0)
    # One sigma-scaled shift on every keypoint: exp(-1/2) each.
    shift = np.sqrt(2 * person.area) * 2 * COCO_SIGMAS / np.sqrt(2)
    moved = xy + np.stack([shift, np.zeros(17)], axis=1)
    assert oks(moved, person.keypoints, person.area) == pytest.approx(np.exp(-0.5))
    # Unlabelled keypoints do not count; nothing labelled scores 0.
    labels = np.zeros(17)
    labels[0] = 2
    far = xy.copy()
    far[1:] += 1000
    assert oks(far, _person(xy, labelled=labels).keypoints, 10000.0) == pytest.approx(1.0)
    assert oks(xy, _person(xy, labelled=np.zeros(17)).keypoints, 10000.0) == 0.0


def test_count_found_matches_each_prediction_once():
    a = np.zeros((17, 2))
    b = np.full((17, 2), 300.0)
    people = [_person(a), _person(b)]
    assert count_found([a, b], people) == 2
    assert count_found([a], people) == 1
    assert count_found([a, a], people) == 1  # a duplicate prediction finds nobody new
    assert count_found([a + 200], people) == 0


@NEEDS_SHARED
def test_load_shared_annotations():
    people = load_people(SHARED_DATA / "images" / "coco" / "person_keypoints.json")
    assert len(people) >= 4 and all(p.keypoints.shape == (17, 3) for p in people)
