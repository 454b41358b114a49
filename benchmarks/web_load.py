"""Load test of ``blazepose serve``: N WebSocket clients streaming frames, against the same frames in process.

    .venv/bin/python benchmarks/web_load.py [--clients 1,4,8] [--seconds 60] [--model-complexity 1]

Starts ``blazepose serve`` on 127.0.0.1 (a free port) in a subprocess, then
for each client count: that many clients connect at once, each streams the
dance clip (640x360 JPEG frames, looped) with one frame in flight, for
``--seconds``. Reports the answers per second, the round-trip latency
percentiles, the server's own time per frame, and the server's resident
memory before the first client, after each round and at the end.

The web path's overhead: ``--pairs`` times in turn, the same frames in
process (JPEG decode + ``detect_for_video``) and through one WebSocket
client, ``--pair-seconds`` each, so that both see the same background load;
the medians of the pairs are reported. Writes ``results/web_load.json`` and
prints a Markdown table. Only 127.0.0.1 is ever contacted; counts and times
are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
VIDEO = ROOT.parent / "shared" / "data" / "video" / "dance_720p.avi"
MAX_CLIENTS, MAX_SECONDS = 64, 600


def jpeg_frames(video: Path, count: int, size=(640, 360)) -> list[bytes]:
    import cv2

    from blazepose.io.video import VideoSource

    source = VideoSource(str(video))
    frames: list[bytes] = []
    try:
        for frame in source.frames():
            bgr = cv2.cvtColor(cv2.resize(frame.rgb, size, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
            frames.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
            if len(frames) == count:
                break
    finally:
        source.close()
    return frames


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "blazepose", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--max-connections", str(max(16, 2 * max(args.clients))),
               "--inference-threads", str(args.inference_threads)]  # fmt: skip
    process = subprocess.Popen(command)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start within 90 s")


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


async def client(url: str, frames: list[bytes], seconds: float, complexity: int, offset: int) -> dict:
    import websockets

    latencies, server_ms, inference_ms, errors, dropped = [], [], [], 0, 0
    async with websockets.connect(url + "/v1/ws/pose", max_size=2**24, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "config", "options": {"model_complexity": complexity}}))
        await asyncio.wait_for(ws.recv(), 60)
        start = time.perf_counter()
        k = offset
        while time.perf_counter() - start < seconds:
            sent = time.perf_counter()
            await ws.send(struct.pack("<d", (sent - start) * 1000) + frames[k % len(frames)])
            answer = json.loads(await asyncio.wait_for(ws.recv(), 120))
            latencies.append((time.perf_counter() - sent) * 1000)
            if answer["type"] != "result":
                errors += 1
                continue
            server_ms.append(answer["server_ms"])
            inference_ms.append(answer["inference_ms"])
            dropped = answer["dropped"]
            k += 1
        elapsed = time.perf_counter() - start
    return {"answers": len(latencies), "seconds": elapsed, "latencies": latencies, "server_ms": server_ms,
            "inference_ms": inference_ms, "errors": errors, "dropped": dropped}  # fmt: skip


async def round_of(url: str, frames: list[bytes], clients: int, seconds: float, complexity: int) -> dict:
    ws_url = url.replace("http://", "ws://")
    runs = await asyncio.gather(*(client(ws_url, frames, seconds, complexity, offset=17 * i) for i in range(clients)))
    latencies = np.concatenate([r["latencies"] for r in runs])
    seconds_taken = max(r["seconds"] for r in runs)
    answers = sum(r["answers"] for r in runs)
    return {
        "clients": clients,
        "seconds": round(seconds_taken, 1),
        "answers": answers,
        "answers_per_s": round(answers / seconds_taken, 2),
        "per_client_fps": [round(r["answers"] / r["seconds"], 2) for r in runs],
        "latency_ms": {f"p{q}": round(float(np.percentile(latencies, q)), 1) for q in (50, 90, 99)}
        | {"max": round(float(latencies.max()), 1)},
        "server_ms_p50": round(float(np.median(np.concatenate([r["server_ms"] for r in runs]))), 1),
        "inference_ms_p50": round(float(np.median(np.concatenate([r["inference_ms"] for r in runs]))), 1),
        "errors": sum(r["errors"] for r in runs),
        "dropped": sum(r["dropped"] for r in runs),
    }


def in_process(frames: list[bytes], seconds: float, complexity: int) -> dict:
    """The same frames without the web path: JPEG decode and detect_for_video in one thread."""
    import cv2

    from blazepose.tasks.pose_landmarker import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, model_complexity=complexity)
    times = []
    with PoseLandmarker.create_from_options(options) as landmarker:
        start = time.perf_counter()
        k = 0
        while time.perf_counter() - start < seconds:
            t = time.perf_counter()
            bgr = cv2.imdecode(np.frombuffer(frames[k % len(frames)], np.uint8), cv2.IMREAD_COLOR)
            landmarker.detect_for_video(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (t - start) * 1000)
            times.append((time.perf_counter() - t) * 1000)
            k += 1
        elapsed = time.perf_counter() - start
    return {"frames": len(times), "fps": round(len(times) / elapsed, 2), "ms_p50": round(float(np.median(times)), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,4,8", help="client counts, one round each (comma-separated)")
    parser.add_argument("--seconds", type=float, default=60, help="length of each round")
    parser.add_argument("--model-complexity", type=int, default=1, choices=(0, 1, 2))
    parser.add_argument("--inference-threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=120, help="frames of the clip to loop over")
    parser.add_argument("--pairs", type=int, default=5, help="in-process / one-client pairs for the overhead")
    parser.add_argument("--pair-seconds", type=float, default=6)
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "web_load.json")
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    if not all(1 <= c <= MAX_CLIENTS for c in args.clients) or not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"clients must be in 1..{MAX_CLIENTS} and seconds in (0, {MAX_SECONDS}]")
    frames = jpeg_frames(args.video, args.frames)
    report: dict = {
        "command": "benchmarks/web_load.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at start",
        "model_complexity": args.model_complexity,
        "frame": "640x360 JPEG (quality 85), the first frames of dance_720p.avi looped",
    }
    process, url = start_server(args)
    try:
        report["server_rss_mb"] = {"before": round(rss_mb(process.pid), 1)}
        pairs = []
        for _ in range(args.pairs):
            local = in_process(frames, args.pair_seconds, args.model_complexity)
            web = asyncio.run(round_of(url, frames, 1, args.pair_seconds, args.model_complexity))
            pair = {
                "in_process_fps": local["fps"],
                "web_fps": web["answers_per_s"],
                "in_process_ms_p50": local["ms_p50"],
            }
            pairs.append(pair | {"web_round_trip_ms_p50": web["latency_ms"]["p50"]})
            print(pairs[-1], flush=True)
        report["overhead_pairs"] = pairs
        report["overhead"] = {key: round(float(np.median([p[key] for p in pairs])), 2) for key in pairs[0]}
        report["rounds"] = []
        for clients in args.clients:
            result = asyncio.run(round_of(url, frames, clients, args.seconds, args.model_complexity))
            result["server_rss_mb_after"] = round(rss_mb(process.pid), 1)
            report["rounds"].append(result)
            print(result, flush=True)
        time.sleep(2)  # the sockets' trackers are closed
        report["server_rss_mb"]["after"] = round(rss_mb(process.pid), 1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(report))
    return 0


def markdown(report: dict) -> str:
    rows = ["| clients | answers/s | per client fps | latency p50 / p90 / p99 / max (ms) | server ms p50 | "
            "inference ms p50 | errors | server RSS after (MB) |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in report["rounds"]:
        lat = r["latency_ms"]
        rows.append(
            f"| {r['clients']} | {r['answers_per_s']} | {min(r['per_client_fps'])}–{max(r['per_client_fps'])} | "
            f"{lat['p50']} / {lat['p90']} / {lat['p99']} / {lat['max']} | {r['server_ms_p50']} | "
            f"{r['inference_ms_p50']} | {r['errors']} | {r['server_rss_mb_after']} |"
        )
    o = report["overhead"]
    rows.append(f"\nOne client against the same frames in process, {len(report['overhead_pairs'])} pairs (medians): "
                f"{o['web_fps']} fps over the WebSocket ({o['web_round_trip_ms_p50']} ms round trip p50), "
                f"{o['in_process_fps']} fps in process ({o['in_process_ms_p50']} ms per frame p50). Server RSS "
                f"{report['server_rss_mb']['before']} MB before the first client, {report['server_rss_mb']['after']} "
                "MB at the end.")  # fmt: skip
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
