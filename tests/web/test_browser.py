"""End to end in headless Chromium: the fake camera plays the dance video, the page gets and draws the poses."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from browser import (
    CHROMEDRIVER,
    CHROMIUM,
    LEFT_RGB,
    RIGHT_RGB,
    SNAPSHOT_JS,
    dance_frames,
    start_chromium,
    wait_for,
    write_y4m,
)
from web_server import NEEDS_WEB, running_server

from conftest import SHARED_VIDEO

pytestmark = [
    NEEDS_WEB,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="needs Chromium and chromedriver (apt-get install chromium chromium-driver)"),
    pytest.mark.skipif(importlib.util.find_spec("selenium") is None, reason="needs selenium (test extra)"),
    pytest.mark.skipif(not SHARED_VIDEO.is_file(), reason=f"needs the shared video {SHARED_VIDEO}"),
]  # fmt: skip
FRAMES = 40


@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    frames = dance_frames(SHARED_VIDEO, FRAMES)
    return write_y4m(tmp_path_factory.mktemp("camera") / "dance.y4m", frames), frames


def dancer_box(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The range of the dancer's landmarks over the camera's frames, found in process (lite model)."""
    from blazepose.tasks.pose_landmarker import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, model_complexity=0)
    points = []
    with PoseLandmarker.create_from_options(options) as landmarker:
        for k, rgb in enumerate(frames):
            result = landmarker.detect_for_video(rgb, 40.0 * k).result
            points += [result.landmarks[0, :, :2]] if len(result) else []
    assert len(points) >= len(frames) // 2, "the dancer should be found in process in most frames"
    points = np.concatenate(points)
    return points.min(axis=0), points.max(axis=0)


def test_the_page_gets_draws_and_plots_the_dancer(camera):
    path, frames = camera
    with running_server() as (url, _):
        driver = start_chromium(path)
        try:
            driver.get(url + "/?model_complexity=0&enable_segmentation=1&effect=tint")
            wait_for(driver, "return window.blazeposeDemo.results >= 8;", 120)
            snapshot = wait_for(driver, SNAPSHOT_JS, 60, [LEFT_RGB, RIGHT_RGB], 6)
        finally:
            driver.quit()
    demo, (left, right), (world_left, world_right) = snapshot["demo"], snapshot["output"], snapshot["world3d"]
    assert demo["errors"] == [] and demo["framesSent"] >= demo["results"] >= 8
    assert demo["posesSeen"] >= demo["results"] // 2  # the dancer is found in most frames
    result = demo["lastResult"]
    assert result["image_size"] == [360, 640] and len(result["poses"]) == 1
    # The landmarks are the dancer's: inside the range her landmarks take in process, give or take 5 %.
    low, high = dancer_box(frames)
    seen = np.array(result["poses"][0]["landmarks"])[:, :2]
    assert np.all(seen >= low - 0.05) and np.all(seen <= high + 0.05), (seen.min(0), seen.max(0), low, high)
    assert result["mask"] is not None
    # Drawn: the skeleton's left (orange) and right (cyan) colours are on the frame and in the 3D view.
    assert demo["skeletonsDrawn"] >= 1 and left > 50 and right > 50, (left, right)
    assert demo["world3dDrawn"] >= 1 and world_left > 20 and world_right > 20, (world_left, world_right)
    assert snapshot["trackIds"] == f"#{result['poses'][0]['id']}"
    assert demo["fps"] > 0 and demo["latencyMs"] > 0
