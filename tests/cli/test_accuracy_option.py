"""``--accuracy`` in ``blazepose run`` and ``blazepose eval``."""

import json
import subprocess
import sys

import pytest

from conftest import NEEDS_SHARED, SHARED_DATA, SHARED_VIDEO

pytest.importorskip("av", reason="video input and output need PyAV (the video extra)")

from blazepose.io.landmark_files import load_landmarks


def blazepose(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "blazepose", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


@NEEDS_SHARED
def test_run_high_on_a_video_file_tracks_the_whole_clip(tmp_path):
    common = ("--model", "lite", "--start", "1", "--end", "1.4", "--quiet")
    high = blazepose("run", SHARED_VIDEO, "--out", tmp_path / "high", "--accuracy", "high", *common)
    assert high.returncode == 0, high.stderr
    fast = blazepose("run", SHARED_VIDEO, "--out", tmp_path / "fast", "--no-annotate", *common)
    assert fast.returncode == 0, fast.stderr
    records = load_landmarks(tmp_path / "high" / "dance_720p.landmarks.jsonl")
    baseline = load_landmarks(tmp_path / "fast" / "dance_720p.landmarks.jsonl")
    assert [r.frame for r in records] == [r.frame for r in baseline] == list(range(50, 70))
    assert [r.timestamp_ms for r in records] == [r.timestamp_ms for r in baseline]
    assert all(len(r.result) >= len(b.result) for r, b in zip(records, baseline, strict=True))
    assert all(len(r.result) == 1 for r in records)
    assert (tmp_path / "high" / "dance_720p.annotated.mp4").stat().st_size > 0
    # Smoothed over the whole clip, not copied from the live tracker.
    assert any(
        abs(r.result.landmarks - b.result.landmarks).max() > 0
        for r, b in zip(records, baseline, strict=True)
        if len(b.result)
    )


@NEEDS_SHARED
def test_run_high_on_a_video_refuses_masks_by_name_before_any_input(tmp_path):
    """A usage error before any output (a photo given first was processed, then the video failed: exit 1)."""
    import shutil

    photo = tmp_path / "p.jpg"
    shutil.copy(sorted((SHARED_VIDEO.parents[1] / "images" / "coco").glob("*.jpg"))[0], photo)
    run = blazepose("run", photo, SHARED_VIDEO, "--out", tmp_path / "o", "--accuracy", "high", "--segmentation",
                    "--end", "0.1")  # fmt: skip
    assert run.returncode == 2 and "--accuracy high on video files makes no masks" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "o").exists()


def test_bad_accuracy_is_a_usage_error(tmp_path):
    for verb in ("run", "eval"):
        run = blazepose(verb, "x.png", "--accuracy", "best", "--out", tmp_path)
        assert run.returncode == 2 and "invalid choice: 'best'" in run.stderr


@NEEDS_SHARED
def test_eval_reports_both_modes(tmp_path):
    pytest.importorskip("pycocotools", reason="COCO AP needs pycocotools (the eval extra)")
    coco = SHARED_DATA / "images" / "coco" / "person_keypoints.json"
    run = blazepose("eval", "--coco", coco, "--model-complexity", "0", "--accuracy", "fast", "high",
                    "--protocol", "image", "--mediapipe", "no", "--out", tmp_path, "--quiet")  # fmt: skip
    assert run.returncode == 0, run.stderr
    models = [r["model"] for r in json.loads((tmp_path / "eval.json").read_text())["results"]]
    assert models == ["blazepose lite", "blazepose lite high"]
