"""Metric code on cases with known answers."""

import json
import subprocess
import sys

import numpy as np
import pytest

from blazepose.evaluation.accuracy import (
    MAX_CROP_SIDE,
    MPII_JOINTS,
    coco_ap,
    crop_person,
    evaluate_coco,
    mpii_head_size,
    pck,
    pose_to_mpii,
    predict_people,
    torso_size,
)
from blazepose.evaluation.coco import COCO_FROM_POSE
from conftest import NEEDS_SHARED, SHARED_DATA


def test_pck_perfect_shifted_and_missing():
    gt = np.zeros((2, 3, 2))
    labelled = np.ones((2, 3), bool)
    scale = np.array([10.0, 20.0])
    per, overall = pck(gt, gt, labelled, scale, 0.2)
    assert overall == 1.0 and per.tolist() == [1.0, 1.0, 1.0]
    shifted = gt + np.array([3.0, 0.0])  # 3 px: beyond 0.2 x 10, within 0.2 x 20
    per, overall = pck(shifted, gt, labelled, scale, 0.2)
    assert overall == 0.5 and per.tolist() == [0.5, 0.5, 0.5]
    missing = gt.copy()
    missing[0, 1] = np.nan  # no prediction: wrong
    labelled[1, 2] = False  # not labelled: not counted
    per, overall = pck(missing, gt, labelled, scale, 0.2)
    assert per[1] == 0.5 and per[2] == 1.0 and overall == pytest.approx(4 / 5)


def test_pck_with_nothing_labelled():
    per, overall = pck(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), np.zeros((1, 2), bool), np.ones(1), 0.2)
    assert np.isnan(overall) and np.isnan(per).all()


def test_torso_and_head_sizes():
    kp = np.zeros((17, 3))
    kp[5] = [0, 0, 2]  # left shoulder
    kp[12] = [30, 40, 2]  # right hip
    assert torso_size(kp) == 50.0
    kp[12, 2] = 0
    kp[6] = [0, 0, 1]
    kp[11] = [6, 8, 1]
    assert torso_size(kp) == 10.0
    kp[11, 2] = 0
    assert np.isnan(torso_size(kp))
    joints = np.zeros((16, 2))
    joints[9] = [0, 12]
    assert mpii_head_size(joints) == 12.0


def test_pose_to_mpii_averages_for_pelvis_and_thorax():
    lm = np.zeros((33, 2))
    lm[23], lm[24] = [0, 0], [10, 20]
    out = pose_to_mpii(lm)
    names = [name for _, name, _ in MPII_JOINTS]
    np.testing.assert_array_equal(out[names.index("pelvis")], [5, 10])
    np.testing.assert_array_equal(out[names.index("right_hip")], [10, 20])


def test_crop_person_and_mapping_back():
    image = np.arange(100 * 80 * 3, dtype=np.uint8).reshape(100, 80, 3)
    crop, offset, scale = crop_person(image, (10, 20, 30, 60), enlarge=1.0)
    assert crop.shape == (40, 40, 3) and offset.tolist() == [0, 20] and scale == 1.0
    np.testing.assert_array_equal(crop[5, 7], image[25, 7])
    edge, off, _ = crop_person(image, (-10, -10, 10, 10), enlarge=1.0)  # beyond the image: zeros
    assert edge.shape == (20, 20, 3) and edge[0, 0].max() == 0 and off.tolist() == [-10, -10]
    np.testing.assert_array_equal(edge[10:, 10:], image[:10, :10])

    def runner(img):
        return np.full((1, 33, 2), 3.0), np.array([0.9])

    ((pose, score),) = predict_people(runner, image, [(10, 20, 30, 60)])
    # Default enlargement 1.25: a 50-pixel square from (-5, 15).
    assert score == 0.9 and pose[0].tolist() == [3.0 - 5, 3.0 + 15]


def test_a_box_far_beyond_its_image_is_cropped_at_a_smaller_scale():
    # (The image was padded by the box's overshoot: OpenCV asked for 54 GB, or 18 TB for MPII scale 1e4.)
    image = np.full((100, 80, 3), 200, np.uint8)
    crop, offset, scale = crop_person(image, (-1e6, -1e6, 1e6, 1e6), enlarge=1.0)
    assert crop.shape[0] <= MAX_CROP_SIDE and scale == pytest.approx(2e6 / crop.shape[0])
    inside = np.argwhere(crop[..., 0] > 0)  # where the image landed, mapped back to image pixels
    corner = inside.min(axis=0)[::-1] * scale + offset
    np.testing.assert_allclose(corner, [0, 0], atol=2 * scale)


def _synthetic_coco(tmp_path, people_per_image):
    """Blank images of distinct sizes and annotations; returns (file, truth per image size)."""
    import cv2

    rng = np.random.default_rng(0)
    images, annotations, truth = [], [], {}
    for i, count in enumerate(people_per_image):
        w, h = 200 + 10 * i, 150
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.zeros((h, w, 3), np.uint8))
        images.append({"id": i + 1, "file_name": f"{i}.png", "width": w, "height": h})
        poses = []
        for k in range(count):
            kp = np.column_stack([rng.uniform(20, 180, 17), rng.uniform(20, 130, 17), np.full(17, 2)])
            x0, y0 = kp[:, :2].min(0)
            x1, y1 = kp[:, :2].max(0)
            annotations.append(
                {"id": 100 * i + k + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0, "num_keypoints": 17,
                 "keypoints": kp.ravel().tolist(), "area": float((x1 - x0) * (y1 - y0)),
                 "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]}
            )  # fmt: skip
            pose = np.zeros((33, 2))
            pose[COCO_FROM_POSE] = kp[:, :2]
            poses.append(pose)
        truth[w] = poses
    data = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(data))
    return path, truth


def test_whole_image_protocol_with_perfect_and_partial_predictions(tmp_path):
    pytest.importorskip("pycocotools")
    path, truth = _synthetic_coco(tmp_path, [1, 2, 3])

    def perfect(image):
        poses = truth[image.shape[1]]
        return np.array(poses).reshape(-1, 33, 2), np.ones(len(poses))

    e = evaluate_coco(perfect, path, tmp_path, "image", "perfect")
    assert e.people == 6 and e.pck == 1.0 and e.coco["AP"] == pytest.approx(1.0) and e.coco["AR"] == pytest.approx(1.0)

    def first_only(image):  # several people, one prediction each image
        poses = truth[image.shape[1]][:1]
        return np.array(poses).reshape(-1, 33, 2), np.ones(len(poses))

    e = evaluate_coco(first_only, path, tmp_path, "image", "first")
    assert e.pck == pytest.approx(3 / 6) and e.coco["AR"] == pytest.approx(0.5)


def test_coco_ap_of_nothing_is_zero(tmp_path):
    pytest.importorskip("pycocotools")
    path, _ = _synthetic_coco(tmp_path, [1])
    assert coco_ap(path, [], [1])["AP"] == 0.0


@NEEDS_SHARED
def test_eval_command_on_shared_mpii_and_coco(tmp_path):
    pytest.importorskip("pycocotools")
    run = subprocess.run(
        [sys.executable, "-m", "blazepose", "eval", "--mpii", str(SHARED_DATA / "images/mpii/annotations.json"),
         "--coco", str(SHARED_DATA / "images/coco/person_keypoints.json"), "--model-complexity", "0",
         "--protocol", "single", "--mediapipe", "no", "--out", str(tmp_path), "--quiet"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "eval.json").read_text())
    mpii = next(r for r in report["results"] if r["dataset"] == "mpii")
    assert mpii["people"] == 5 and 0.8 <= mpii["pck"] <= 1.0
    coco = next(r for r in report["results"] if r["dataset"] == "coco")
    assert coco["people"] == 12 and coco["coco"]["AP"] > 0.2
    assert (tmp_path / "eval.md").read_text().count("|") > 20


def test_eval_command_needs_an_annotation_file(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "blazepose", "eval", "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 2 and "--coco" in run.stderr
