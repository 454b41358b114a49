import json
import subprocess
import sys

import pytest


def test_demo_writes_landmarks_and_annotated_image(tmp_path):
    pytest.importorskip("skimage")
    out = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, "-m", "blazepose", "demo", "--out", str(out), "--model-complexity", "0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "1 pose(s) found" in run.stdout
    record = json.loads((out / "landmarks.json").read_text())
    pose = record["poses"][0]
    assert len(pose["landmarks"]) == 33
    nose = pose["landmarks"]["nose"]
    assert 0 < nose["x"] < 1 and set(nose) >= {"x", "y", "z", "visibility", "presence", "world"}
    import cv2

    assert cv2.imread(str(out / "annotated.png")).shape == (512, 512, 3)


def test_demo_names_an_unreadable_image(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    run = subprocess.run(
        [sys.executable, "-m", "blazepose", "demo", "--image", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "broken.jpg" in run.stderr and "Traceback" not in run.stderr


def test_demo_out_at_a_file_or_an_unwritable_image_is_one_line(tmp_path, capsys):
    from blazepose.cli import main

    (tmp_path / "afile").write_text("x")
    for out in (tmp_path / "afile", tmp_path / "afile" / "sub"):
        assert main(["demo", "--out", str(out)]) == 2
        assert capsys.readouterr().err.count("\n") == 1
    (tmp_path / "d" / "annotated.png").mkdir(parents=True)  # where the image would go: a folder
    pytest.importorskip("skimage", reason="the built-in photo comes from scikit-image")
    assert main(["demo", "--out", str(tmp_path / "d"), "--model-complexity", "0"]) == 1
    assert "annotated.png: could not be written" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("verb_args", "missing", "message"),
    [
        (["run", "{photo}", "--plot3d"], "matplotlib", "blazepose run: --plot3d needs matplotlib: pip install "
                                                       "'blazepose[plot]'"),
        (["eval", "--coco", "{coco}"], "pycocotools", "blazepose eval: --coco's AP needs pycocotools: pip install "
                                                      "'blazepose[eval]'"),
    ],
)  # fmt: skip
def test_a_missing_extra_is_a_usage_error_before_any_work(tmp_path, astronaut, capsys, monkeypatch, verb_args,
                                                          missing, message):  # fmt: skip
    # (--plot3d wrote the photo's files, then a traceback; eval ran every model, then a traceback.)
    import importlib.util

    import cv2

    from blazepose import cli

    cv2.imwrite(str(tmp_path / "a.png"), astronaut[..., ::-1])
    (tmp_path / "coco.json").write_text("{}")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else find_spec(name, *a))
    args = [a.format(photo=tmp_path / "a.png", coco=tmp_path / "coco.json") for a in verb_args]
    assert cli.main([*args, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == message
    assert not (tmp_path / "out").exists()
