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
    assert run.returncode != 0 and "broken.jpg" in run.stderr
