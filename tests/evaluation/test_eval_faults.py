"""``blazepose eval`` on missing images and malformed annotations (issue #11), run as a subprocess."""

import json

import numpy as np
import pytest

from media_helpers import blazepose

pytest.importorskip("pycocotools", reason="COCO AP needs pycocotools (the eval extra)")


def _coco(tmp_path, astronaut, present: int, missing: int):
    import cv2

    images = tmp_path / "images"
    images.mkdir()
    keypoints = [v for i in range(17) for v in (200 + 5 * i, 100 + 20 * i, 2)]
    data = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "person"}]}
    for n in range(present + missing):
        name = f"{n:04d}.jpg"
        if n < present:
            cv2.imwrite(str(images / name), astronaut[..., ::-1])
        data["images"].append({"id": n, "file_name": name, "height": 512, "width": 512})
        data["annotations"].append({"id": n, "image_id": n, "category_id": 1, "keypoints": keypoints, "area": 90000.0,
                                    "num_keypoints": 17, "bbox": [120, 20, 300, 480], "iscrowd": 0})  # fmt: skip
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(data))
    return path, images


def test_missing_images_are_counted_and_fail_unless_allowed(tmp_path, astronaut):
    ann, images = _coco(tmp_path, astronaut, present=1, missing=2)
    common = ["eval", "--coco", ann, "--coco-images", images, "--model-complexity", "0", "--protocol", "single",
              "--mediapipe", "no", "--quiet", "--out", tmp_path / "out"]  # fmt: skip
    refused = blazepose(*common, timeout=120)
    assert refused.returncode == 1, refused.stderr
    assert "2 annotated people skipped: 2 image(s) missing" in refused.stderr and "--allow-missing" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "out").exists()
    allowed = blazepose(*common, "--allow-missing", timeout=300)
    assert allowed.returncode == 0, allowed.stderr
    assert "2 annotated people skipped" in allowed.stderr
    (result,) = json.loads((tmp_path / "out" / "eval.json").read_text())["results"]
    assert result["people"] == 1 and result["skipped"] == 2


@pytest.mark.parametrize("content", ["", "{", "[]", '{"images": [], "annotations": [{"image_id": 3}]}', '"x"'])
@pytest.mark.parametrize("kind", ["--coco", "--mpii"])
def test_malformed_annotation_files_are_one_line_usage_errors(tmp_path, content, kind):
    ann = tmp_path / "ann.json"
    ann.write_text(content)
    run = blazepose("eval", kind, ann, "--mediapipe", "no", "--out", tmp_path / "out", timeout=60)
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and str(ann) in run.stderr, run.stderr


def test_a_corrupt_image_is_named_without_a_traceback(tmp_path, astronaut):
    ann, images = _coco(tmp_path, astronaut, present=2, missing=0)
    (images / "0001.jpg").write_bytes(b"not a jpeg")
    run = blazepose("eval", "--coco", ann, "--coco-images", images, "--model-complexity", "0", "--protocol", "single",
                    "--mediapipe", "no", "--quiet", "--out", tmp_path / "out", timeout=120)  # fmt: skip
    assert run.returncode == 1 and "0001.jpg: not a readable image" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("option", [["--num-poses", "0"], ["--min-keypoints", "-3"]])
def test_counts_below_one_are_one_line_usage_errors(tmp_path, astronaut, option):
    ann, images = _coco(tmp_path, astronaut, present=1, missing=0)
    run = blazepose("eval", "--coco", ann, "--coco-images", images, "--mediapipe", "no", "--out", tmp_path / "out",
                    *option, timeout=60)  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [f"blazepose eval: {option[0]} must be >= 1, got {option[1]}"]
    assert not (tmp_path / "out").exists()


def test_out_at_a_file_is_refused_before_the_evaluation(tmp_path, astronaut):
    """It was found only when writing the report, after every model had been evaluated (a traceback)."""
    ann, images = _coco(tmp_path, astronaut, present=1, missing=0)
    (tmp_path / "afile").write_text("x")
    run = blazepose("eval", "--coco", ann, "--coco-images", images, "--mediapipe", "no", "--out", tmp_path / "afile",
                    timeout=60)  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().splitlines() == [f"blazepose eval: --out {tmp_path / 'afile'}: is a file; expected a "
                                               "folder (it is created when missing)"]  # fmt: skip


def _malformed_coco(base: dict, case: str) -> dict:
    data = json.loads(json.dumps(base))
    first = data["annotations"][0]
    if case == "no categories":
        del data["categories"]
    elif case == "keypoints as strings":
        first["keypoints"] = [str(v) for v in first["keypoints"]]
    elif case == "crowd without num_keypoints":
        data["annotations"].append({**first, "id": 99, "iscrowd": 1})
        del data["annotations"][-1]["num_keypoints"]
    elif case == "two images of one name":
        data["images"].append({**data["images"][0], "id": 7})
    elif case == "a box of 3 numbers":
        first["bbox"] = first["bbox"][:3]
    elif case == "an image id that is a list":
        first["image_id"] = [first["image_id"]]
    return data


@pytest.mark.parametrize(
    "case",
    [
        "no categories",
        "keypoints as strings",
        "crowd without num_keypoints",
        "two images of one name",
        "a box of 3 numbers",
        "an image id that is a list",
    ],
)
def test_malformed_coco_entries_are_usage_errors_before_any_model_runs(tmp_path, astronaut, case):
    # (Each ran every model, then ended in a traceback: KeyError, numpy's ufunc error, pycocotools' KeyError;
    # two images of one name scored their people under one id, silently.)
    ann, images = _coco(tmp_path, astronaut, present=1, missing=0)
    ann.write_text(json.dumps(_malformed_coco(json.loads(ann.read_text()), case)))
    run = blazepose("eval", "--coco", ann, "--coco-images", images, "--mediapipe", "no", "--out", tmp_path / "out",
                    timeout=60)  # fmt: skip
    assert run.returncode == 2, run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"blazepose eval: {ann}: not a COCO person-keypoints JSON (")


@pytest.mark.parametrize(
    ("field", "value"), [("center", ["1", "2"]), ("scale", 0), ("joints", [[1, 2]] * 15), ("joints_vis", [1] * 15)]
)
def test_malformed_mpii_entries_are_usage_errors(tmp_path, field, value):
    entry = {"image": "a.jpg", "center": [100, 100], "scale": 1.0, "joints": [[1, 2]] * 16, "joints_vis": [1] * 16}
    ann = tmp_path / "mpii.json"
    ann.write_text(json.dumps([{**entry, field: value}]))
    run = blazepose("eval", "--mpii", ann, "--mediapipe", "no", "--out", tmp_path / "out", timeout=60)
    assert run.returncode == 2, run.stderr
    assert "entry 0: expected" in run.stderr and f"'{field}'" in run.stderr


def test_an_image_folder_that_is_not_there_is_a_usage_error(tmp_path, astronaut):
    # (It was replaced by the annotation file's folder without a word.)
    ann, _ = _coco(tmp_path, astronaut, present=1, missing=0)
    run = blazepose("eval", "--coco", ann, "--coco-images", tmp_path / "typo", "--mediapipe", "no",
                    "--out", tmp_path / "out", timeout=60)  # fmt: skip
    assert run.returncode == 2 and run.stderr.strip() == f"blazepose eval: no image folder at {tmp_path / 'typo'}"


def test_datasets_in_annotations_folders_are_named_apart_and_scored_by_their_own_metric(tmp_path, astronaut):
    # mmpose's layout: data/coco/annotations/x.json and data/mpii/annotations/y.json. Both were named
    # "annotations": MPII's PCKh was labelled PCK@0.2, and the two together ended in a KeyError, no report.
    import cv2

    coco_dir, mpii_dir = tmp_path / "data/coco/annotations", tmp_path / "data/mpii/annotations"
    mpii_dir.mkdir(parents=True)
    coco_dir.parent.mkdir(parents=True, exist_ok=True)
    ann, images = _coco(coco_dir.parent, astronaut, present=1, missing=0)
    coco_dir.mkdir()
    coco_ann = ann.rename(coco_dir / "person_keypoints_val.json")
    cv2.imwrite(str(mpii_dir / "a.jpg"), astronaut[..., ::-1])
    joints = [[200 + 5 * i, 100 + 20 * i] for i in range(16)]
    (mpii_dir / "mpii_val.json").write_text(json.dumps(
        [{"image": "a.jpg", "center": [256, 256], "scale": 2.4, "joints": joints, "joints_vis": [1] * 16}]
    ))  # fmt: skip
    run = blazepose("eval", "--coco", coco_ann, "--coco-images", images, "--mpii", mpii_dir / "mpii_val.json",
                    "--model-complexity", "0", "--protocol", "single", "--mediapipe", "no", "--quiet",
                    "--out", tmp_path / "out", timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows = [line for line in run.stdout.splitlines() if line.startswith("| coco |") or line.startswith("| mpii |")]
    assert len(rows) == 2 and "PCK@0.2" in rows[0] and "PCKh@0.5" in rows[1], run.stdout


def test_the_single_person_protocol_looks_for_one_pose_whatever_num_poses(tmp_path, astronaut, monkeypatch):
    # (--num-poses, the image protocol's, was applied to every crop: other numbers in high accuracy.)
    from blazepose import cli
    from blazepose.evaluation import accuracy

    ann, images = _coco(tmp_path, astronaut, present=1, missing=0)
    asked = []

    def runner(model_complexity, max_poses=1, *rest):
        asked.append(max_poses)
        return (lambda image: (np.zeros((0, 33, 2)), np.zeros(0))), (lambda: None)

    monkeypatch.setattr(accuracy, "blazepose_runner", runner)
    options = ["--model-complexity", "0", "--mediapipe", "no", "--quiet", "--num-poses", "5"]
    assert (
        cli.main(["eval", "--coco", str(ann), "--coco-images", str(images), *options, "--out", str(tmp_path / "o")])
        == 0
    )
    assert sorted(asked) == [1, 5]  # the single protocol's runner, then the image protocol's
