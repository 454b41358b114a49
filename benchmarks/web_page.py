"""The demo page's frame rate in headless Chromium against the same frames processed in process.

    .venv/bin/python benchmarks/web_page.py [--seconds 60] [--model-complexity 1] [--screenshot docs/web_demo.png]

Chromium's fake camera plays the first ``--frames`` frames of the dance clip
(640x360, ``--camera-fps``, looped); the page streams them to ``blazepose serve`` on
127.0.0.1 with one frame in flight, as a user's browser would. In
``--windows`` turns, the page's answers are counted (after a warm-up) for
``--seconds / --windows``, then the page is closed and the same frames go
through ``detect_for_video`` in process for as long; medians are reported
(and once, in process with the JPEG encode and decode the web path adds). Browser, server and the in-process run
share this machine's cores. Writes ``results/web_page.json``; with
``--screenshot``, a picture of the page (segmentation tint on) for the README.
Needs Chromium, chromedriver and Selenium (see tests/web/test_browser.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "web"))  # the browser and server helpers of the web tests

from browser import CHROMEDRIVER, CHROMIUM, dance_frames, start_chromium, wait_for, write_y4m  # noqa: E402
from web_server import running_server  # noqa: E402

VIDEO = ROOT.parent / "shared" / "data" / "video" / "dance_720p.avi"
WARM_UP_RESULTS = 10


def page_rate(driver, url: str, seconds: float, complexity: int) -> dict:
    """The page's answers per second over ``seconds``, after a warm-up."""
    driver.get(f"{url}/?model_complexity={complexity}")
    wait_for(driver, f"return window.blazeposeDemo.results >= {WARM_UP_RESULTS};", 120)
    first = driver.execute_script("return [window.blazeposeDemo.results, performance.now()];")
    time.sleep(seconds)
    last = driver.execute_script("return [window.blazeposeDemo.results, performance.now()];")
    demo = driver.execute_script("return window.blazeposeDemo;")
    driver.get("about:blank")  # the page stops sending
    return {
        "fps": round((last[0] - first[0]) / ((last[1] - first[1]) / 1000), 2),
        "results": last[0] - first[0],
        "round_trip_ms_smoothed": round(demo["latencyMs"], 1),
        "frames_with_a_pose": f"{demo['posesSeen']}/{demo['results']}",
        "errors": len(demo["errors"]),
    }


def take_screenshot(driver, url: str, complexity: int, path: Path) -> None:
    import cv2

    driver.get(f"{url}/?model_complexity={complexity}&enable_segmentation=1&effect=tint")
    wait_for(driver, "const d = window.blazeposeDemo; return d.results >= 30 && d.lastResult.poses.length > 0;", 120)
    png = np.frombuffer(driver.get_screenshot_as_png(), np.uint8)
    image = cv2.imdecode(png, cv2.IMREAD_COLOR)
    image = cv2.resize(image, (image.shape[1] * 3 // 5, image.shape[0] * 3 // 5), interpolation=cv2.INTER_AREA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def in_process(frames: list[np.ndarray], seconds: float, complexity: int, with_jpeg: bool) -> dict:
    import cv2

    from blazepose.tasks.pose_landmarker import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, model_complexity=complexity)
    with PoseLandmarker.create_from_options(options) as landmarker:
        start = time.perf_counter()
        count = 0
        while time.perf_counter() - start < seconds:
            rgb = frames[count % len(frames)]
            if with_jpeg:
                jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])[1]
                rgb = cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            landmarker.detect_for_video(rgb, (time.perf_counter() - start) * 1000)
            count += 1
        return {"fps": round(count / (time.perf_counter() - start), 2), "frames": count}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="page time in all, split into windows")
    parser.add_argument("--windows", type=int, default=4, help="page / in-process windows, in turn")
    parser.add_argument("--model-complexity", type=int, default=1, choices=(0, 1, 2))
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--camera-fps", type=int, default=30, help="the fake camera's frame rate")
    parser.add_argument("--screenshot", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "web_page.json")
    args = parser.parse_args()
    if CHROMIUM is None or CHROMEDRIVER is None:
        print("needs chromium and chromedriver (apt-get install chromium chromium-driver)", file=sys.stderr)
        return 2
    if not 0 < args.seconds <= 600:
        parser.error("seconds must be in (0, 600]")
    frames = dance_frames(VIDEO, args.frames)
    camera = write_y4m(Path("/tmp") / f"blazepose-web-page-{os.getpid()}.y4m", frames, fps=args.camera_fps)
    report: dict = {
        "command": "benchmarks/web_page.py " + " ".join(sys.argv[1:]),
        "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start",
        "model_complexity": args.model_complexity,
    }
    windows = []
    try:
        with running_server() as (url, _):
            driver = start_chromium(camera, 1280, 900)
            try:
                for _ in range(args.windows):  # in turn, so that both see the same background load
                    page = page_rate(driver, url, args.seconds / args.windows, args.model_complexity)
                    local = in_process(frames, args.seconds / args.windows, args.model_complexity, with_jpeg=False)
                    windows.append({"page": page, "in_process_fps": local["fps"]})
                    print(windows[-1], flush=True)
                if args.screenshot is not None:
                    take_screenshot(driver, url, args.model_complexity, args.screenshot)
            finally:
                driver.quit()
    finally:
        camera.unlink(missing_ok=True)
    report["windows"] = windows
    report["page_fps_median"] = float(np.median([w["page"]["fps"] for w in windows]))
    report["in_process_fps_median"] = float(np.median([w["in_process_fps"] for w in windows]))
    report["in_process_with_jpeg"] = in_process(frames, args.seconds / args.windows, args.model_complexity, True)
    report["page_vs_in_process"] = round(report["page_fps_median"] / report["in_process_fps_median"], 3)
    print(json.dumps(report, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
