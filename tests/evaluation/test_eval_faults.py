"""``blazepose eval`` on missing images and malformed annotations (issue #11), run as a subprocess."""

import json

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
