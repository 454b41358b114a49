"""Headless Chromium with a fake camera fed from a file, for the browser test and the page benchmark."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")


def write_y4m(path: Path, rgb_frames: list[np.ndarray], fps: int = 25) -> Path:
    """A YUV4MPEG2 file (4:2:0), the format Chromium's fake camera plays in a loop."""
    import cv2

    height, width = rgb_frames[0].shape[:2]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in rgb_frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


def dance_frames(video: Path, count: int, size: tuple[int, int] = (640, 360)) -> list[np.ndarray]:
    """The first ``count`` frames of a video, scaled to ``size`` (width, height)."""
    import cv2

    from blazepose.io.video import VideoSource

    source = VideoSource(str(video))
    frames = []
    try:
        for frame in source.frames():
            frames.append(cv2.resize(frame.rgb, size, interpolation=cv2.INTER_AREA))
            if len(frames) == count:
                break
    finally:
        source.close()
    return frames


def start_chromium(camera_file: Path, width: int = 1280, height: int = 760):
    """A headless Chromium whose camera plays ``camera_file``, driven by Selenium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera_file}",
        f"--window-size={width},{height}",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


def wait_for(driver, script: str, timeout_s: float, *args, poll_s: float = 0.25):
    """Polls a JavaScript function body until it returns something truthy; that value (raises TimeoutError)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        value = driver.execute_script(script, *args)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{script!r} still false after {timeout_s} s")
        time.sleep(poll_s)


# The page's counters, its last result and, per canvas, how many pixels have each colour; taken in one go
# (null until the last result has a pose), so that the pixels are those drawn for that result.
SNAPSHOT_JS = """
const [colours, tolerance] = arguments;
const demo = window.blazeposeDemo;
if (!demo.lastResult || demo.lastResult.poses.length === 0) return null;
function count(id) {
  const canvas = document.getElementById(id);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const counts = colours.map(() => 0);
  for (let i = 0; i < data.length; i += 4) {
    colours.forEach((c, k) => {
      if (Math.abs(data[i] - c[0]) <= tolerance && Math.abs(data[i + 1] - c[1]) <= tolerance
          && Math.abs(data[i + 2] - c[2]) <= tolerance) counts[k] += 1;
    });
  }
  return counts;
}
return {demo: demo, output: count('output'), world3d: count('world3d'),
        trackIds: document.getElementById('track-ids').textContent};
"""
LEFT_RGB, RIGHT_RGB = (255, 138, 0), (0, 217, 231)
