"""The app's parts in process: settings and options checks, the mask, the request timeout."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from web_server import NEEDS_WEB

from blazepose.web.inference import PoseOptions, small_mask
from blazepose.web.settings import ServeSettings


def test_settings_reject_what_cannot_work():
    assert ServeSettings().host == "127.0.0.1"  # this machine only unless told otherwise
    with pytest.raises(ValueError, match="max_connections must be an int >= 1"):
        ServeSettings(max_connections=0)
    with pytest.raises(ValueError, match="request_timeout_s must be > 0"):
        ServeSettings(request_timeout_s=0)


def test_options_from_a_client_are_checked():
    options = PoseOptions.from_mapping({"model_complexity": 2, "min_detection_confidence": 1}, max_poses=8)
    assert options.model_complexity == 2 and options.min_detection_confidence == 1.0
    from blazepose.tasks.options import RunningMode

    made = options.landmarker_options(RunningMode.VIDEO, model_threads=None)
    assert made.model_complexity == 2 and made.min_pose_presence_confidence == made.min_tracking_confidence == 0.5
    for bad, complaint in [
        ({"model_complexity": 3}, "model_complexity must be 0, 1 or 2"),
        ({"model_complexity": True}, "must be an integer"),
        ({"smooth_landmarks": 1}, "must be true or false"),
        ({"num_poses": 9}, r"num_poses must be in 1\.\.8"),
        ({"min_tracking_confidence": -0.1}, r"must be in \[0, 1\]"),
        ({"min_tracking_confidence": "high"}, "must be a number"),
        ({"colour": "red"}, "unknown option"),
    ]:
        with pytest.raises(ValueError, match=complaint):
            PoseOptions.from_mapping(bad, max_poses=8)
    with pytest.raises(ValueError, match="JSON object"):
        PoseOptions.from_mapping([1, 2], max_poses=8)  # type: ignore[arg-type]


def test_the_mask_is_scaled_down_to_bytes():
    mask = np.zeros((360, 640), np.float32)
    mask[:, 320:] = 1.0
    small = small_mask(mask)
    assert small is not None and (small["width"], small["height"]) == (160, 90)
    pixels = np.frombuffer(base64.b64decode(small["data"]), np.uint8).reshape(90, 160)
    assert pixels[:, :79].max() == 0 and pixels[:, 81:].min() == 255
    assert small_mask(None) is None


@NEEDS_WEB
@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_photo_over_the_time_limit_gets_504(astronaut):
    import cv2
    from fastapi.testclient import TestClient

    from blazepose.web.app import create_app

    jpeg = cv2.imencode(".jpg", astronaut[..., ::-1])[1].tobytes()
    with TestClient(create_app(ServeSettings(request_timeout_s=0.001))) as client:
        answer = client.post("/v1/pose", content=jpeg)
    assert answer.status_code == 504 and "longer than 0.001 s" in answer.json()["detail"]


def test_a_video_whose_landmarker_cannot_be_made_is_closed(monkeypatch, tmp_path):
    from blazepose.io import video
    from blazepose.tasks.pose_landmarker import PoseLandmarker
    from blazepose.web.routes_api import VideoLines

    closed = []

    class Source:
        width = height = 10

        def __init__(self, path: str) -> None:
            self.path = path

        def close(self) -> None:
            closed.append(self.path)

    def refuse(options):
        raise RuntimeError("no engine here")

    monkeypatch.setattr(video, "VideoSource", Source)
    monkeypatch.setattr(PoseLandmarker, "create_from_options", staticmethod(refuse))
    with pytest.raises(RuntimeError, match="no engine here"):
        VideoLines(tmp_path / "clip.mp4", PoseOptions(), model_threads=1, max_pixels=100)
    assert closed == [str(tmp_path / "clip.mp4")]


@NEEDS_WEB
def test_a_video_with_frames_over_the_pixel_limit_gets_413_before_any_model(tmp_path, astronaut):
    pytest.importorskip("av", reason="writing a test video needs PyAV")
    from blazepose.web.limits import RequestError
    from blazepose.web.routes_api import VideoLines
    from media_helpers import make_clip

    clip = make_clip(tmp_path / "clip.avi", 2, astronaut)  # 512x512
    with pytest.raises(RequestError, match="frames are 512x512 pixels, over the limit of 200000") as refused:
        VideoLines(clip, PoseOptions(), model_threads=1, max_pixels=200_000)
    assert refused.value.status == 413


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (grey, 8 bits) with one tiny IDAT chunk: its size is
    read from the header without decoding anything."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@NEEDS_WEB
def test_an_image_claiming_more_pixels_than_the_limit_is_refused_from_its_header():
    from blazepose.web.limits import RequestError, decode_image

    with pytest.raises(RequestError, match="the upload is 7000x7000 pixels, over the limit of 40000000") as e:
        decode_image(_png_header_only(7000, 7000), 40_000_000)
    assert e.value.status == 413
    with pytest.raises(RequestError, match=r"the upload is over the limit of 40000000 pixels \(Image size") as e:
        decode_image(_png_header_only(20000, 20000), 40_000_000)  # beyond Pillow's own bomb limit too
    assert e.value.status == 413


@NEEDS_WEB
def test_an_image_opencv_refuses_is_a_400_not_a_crash():
    import struct

    from blazepose.web.limits import RequestError, decode_image

    header = struct.pack("<IiiHHIIiiII", 40, 1, 2_000_000, 1, 24, 0, 16, 2835, 2835, 0, 0)  # 1 x 2,000,000
    bmp = b"BM" + struct.pack("<IHHI", 70, 0, 0, 54) + header + b"\0" * 16
    with pytest.raises(RequestError, match="is not a readable image") as e:
        decode_image(bmp, 40_000_000)
    assert e.value.status == 400


def _post_through_limits(settings: ServeSettings, body_messages: list, then_wait: bool) -> list:
    """What ``LimitsMiddleware`` sends for a POST whose body comes as ``body_messages`` (then nothing more
    ever comes when ``then_wait``), in front of an app that reads the whole body."""
    import anyio

    from blazepose.web.limits import ConnectionCounter, LimitsMiddleware

    sent: list = []
    pending = list(body_messages)

    async def receive():
        if pending:
            return pending.pop(0)
        if then_wait:
            await anyio.sleep_forever()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    scope = {"type": "http", "path": "/v1/pose", "headers": []}
    middleware = LimitsMiddleware(app, settings, ConnectionCounter(4))

    async def main():
        with anyio.fail_after(20):
            await middleware(scope, receive, send)

    anyio.run(main)
    return sent


@NEEDS_WEB
def test_a_body_that_trickles_is_answered_408():
    # (A byte now and then, each within body_timeout_s, held a connection slot for as long as it went on.)
    import json

    import anyio

    from blazepose.web.limits import ConnectionCounter, LimitsMiddleware

    sent: list = []

    async def receive():  # 10 bytes every 50 ms, never ending: 200 bytes/s
        await anyio.sleep(0.05)
        return {"type": "http.request", "body": b"0123456789", "more_body": True}

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass

    settings = ServeSettings(body_timeout_s=0.3, min_body_bytes_per_s=1000)
    middleware = LimitsMiddleware(app, settings, ConnectionCounter(4))

    async def main():
        with anyio.fail_after(20):
            await middleware({"type": "http", "path": "/v1/pose", "headers": []}, receive, send)

    anyio.run(main)
    assert sent[0]["status"] == 408
    detail = json.loads(sent[1]["body"])["detail"]
    assert detail.startswith("the request body came at ") and detail.endswith("bytes/s, under the 1000 asked")


@NEEDS_WEB
def test_a_body_that_stops_coming_is_answered_408_and_one_whose_client_left_gets_nothing():
    import json

    settings = ServeSettings(body_timeout_s=0.2)
    part = {"type": "http.request", "body": b"\xff\xd8", "more_body": True}
    stalled = _post_through_limits(settings, [part], then_wait=True)
    assert stalled[0]["status"] == 408
    assert json.loads(stalled[1]["body"]) == {"detail": "no part of the request body came for 0.2 s"}
    assert _post_through_limits(settings, [part], then_wait=False) == []  # (http.disconnect: no traceback)
    whole = _post_through_limits(settings, [{"type": "http.request", "body": b"x", "more_body": False}], True)
    assert whole[0]["status"] == 200
