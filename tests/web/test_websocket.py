"""The live WebSocket against a real server: results, per-connection trackers, dropping, limits and timeouts."""

from __future__ import annotations

import base64
import json
import struct
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from web_server import NEEDS_WEB, running_server

pytestmark = NEEDS_WEB
WAIT_S = 120  # longest wait for any one answer


@pytest.fixture(scope="module")
def server():
    with running_server("--max-connections", "6", "--max-frame-mb", "0.25") as (url, _):
        yield url.replace("http://", "ws://")


@pytest.fixture(scope="module")
def frames(astronaut) -> list[bytes]:
    """Five JPEG frames of the astronaut sliding right."""
    import cv2

    return [
        cv2.imencode(".jpg", cv2.cvtColor(np.roll(astronaut, 4 * k, axis=1), cv2.COLOR_RGB2BGR))[1].tobytes()
        for k in range(5)
    ]


def connect(url: str):
    from websockets.sync.client import connect as ws_connect

    return ws_connect(url + "/v1/ws/pose", open_timeout=30, close_timeout=10, max_size=2**24)


def configure(socket, **options) -> dict:
    socket.send(json.dumps({"type": "config", "options": options}))
    return json.loads(socket.recv(timeout=WAIT_S))


def frame(timestamp_ms: float, jpeg: bytes) -> bytes:
    return struct.pack("<d", timestamp_ms) + jpeg


def test_frames_get_tracked_poses_and_a_small_mask(server, frames):
    with connect(server) as socket:
        ready = configure(socket, enable_segmentation=True, model_complexity=0, num_poses=2)
        assert ready["type"] == "ready" and ready["options"]["enable_segmentation"] is True
        answers = []
        for k, jpeg in enumerate(frames):
            socket.send(frame(1000.0 + 33.3 * k, jpeg))
            answers.append(json.loads(socket.recv(timeout=WAIT_S)))
    assert [a["type"] for a in answers] == ["result"] * 5
    assert [a["frame"] for a in answers] == list(range(5))
    assert answers[-1]["timestamp_ms"] == pytest.approx(1000.0 + 33.3 * 4)
    for a in answers:
        assert a["image_size"] == [512, 512] and len(a["poses"]) == 1 and a["poses"][0]["id"] == 0
        pose = a["poses"][0]
        assert np.array(pose["landmarks"]).shape == (33, 5) and np.array(pose["world_landmarks"]).shape == (33, 3)
        assert a["server_ms"] >= a["inference_ms"] > 0 and a["fitness"] is None
        mask = np.frombuffer(base64.b64decode(a["mask"]["data"]), np.uint8).reshape(a["mask"]["height"], -1)
        assert mask.shape == (160, 160) and mask.max() > 200 and mask.min() < 50  # a person and a background
    nose_x = [a["poses"][0]["landmarks"][0][0] for a in answers]
    assert nose_x[-1] > nose_x[0]  # the astronaut moved right


def test_each_connection_has_its_own_tracker(server, frames):
    def stream(start_ms: float) -> list[tuple[int, list[int]]]:
        with connect(server) as socket:
            configure(socket, model_complexity=0)
            out = []
            for k, jpeg in enumerate(frames[:3]):
                socket.send(frame(start_ms + 40 * k, jpeg))
                a = json.loads(socket.recv(timeout=WAIT_S))
                out.append((a["frame"], [p["id"] for p in a["poses"]]))
            return out

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(stream, [0.0, 5000.0, 10.0, 99999.0]))
    assert results == [[(0, [0]), (1, [0]), (2, [0])]] * 4


def test_a_bad_timestamp_or_frame_is_an_error_and_the_connection_goes_on(server, frames):
    with connect(server) as socket:
        configure(socket, model_complexity=0)
        socket.send(frame(100.0, frames[0]))
        assert json.loads(socket.recv(timeout=WAIT_S))["type"] == "result"
        socket.send(frame(50.0, frames[1]))  # earlier than the last frame
        error = json.loads(socket.recv(timeout=WAIT_S))
        assert error["type"] == "error" and "timestamp" in error["message"].lower()
        socket.send(frame(150.0, b"not a jpeg"))
        assert "not a readable image" in json.loads(socket.recv(timeout=WAIT_S))["message"]
        socket.send(b"\x01\x02")
        assert "8 bytes" in json.loads(socket.recv(timeout=WAIT_S))["message"]
        assert "num_poses" in configure(socket, num_poses=0)["message"]
        assert "unknown option" in configure(socket, colour="red")["message"]
        socket.send("not json")
        assert json.loads(socket.recv(timeout=WAIT_S))["type"] == "error"
        socket.send(frame(200.0, frames[1]))
        assert json.loads(socket.recv(timeout=WAIT_S))["type"] == "result"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"type": "config", "options": ' * 5000 + "{}" + "}" * 5000,
        '"config"',
        "[]",
        "",
        '{"type": "config", "options": 0}',
        '{"type": "config", "options": false}',
        '{"type": "config", "options": ""}',
    ],
    ids=["deep array", "deep objects", "a string", "a list", "empty", "options 0", "options false", "options ''"],
)
def test_malformed_text_messages_are_errors_and_the_connection_goes_on(server, frames, text):
    with connect(server) as socket:
        socket.send(text)
        error = json.loads(socket.recv(timeout=WAIT_S))
        assert error["type"] == "error" and error["message"].startswith("bad text message")
        socket.send(frame(100.0, frames[0]))
        assert json.loads(socket.recv(timeout=WAIT_S))["type"] == "result"


def test_frames_sent_faster_than_answered_are_dropped_not_queued(server, frames):
    with connect(server) as socket:
        configure(socket, model_complexity=0)
        for k in range(12):
            socket.send(frame(40.0 * k, frames[k % 5]))
        answered, dropped = 0, 0
        while answered + dropped < 12:
            a = json.loads(socket.recv(timeout=WAIT_S))
            assert a["type"] == "result"
            answered, dropped = answered + 1, a["dropped"]
        assert answered + dropped == 12 and a["timestamp_ms"] == 40.0 * 11  # the newest frame is answered last


def test_an_oversize_frame_closes_the_socket_with_1009(server):
    from websockets.exceptions import ConnectionClosed

    with connect(server) as socket:
        socket.send(frame(0.0, b"\xff" * 300_000))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=WAIT_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_the_connection_limit_answers_429_and_1013_and_frees_up(frames):
    import httpx
    from websockets.exceptions import ConnectionClosed

    with running_server("--max-connections", "2", "--idle-timeout", "3") as (url, _):
        ws_url = url.replace("http://", "ws://")
        with connect(ws_url) as first, connect(ws_url) as second:
            assert configure(first, model_complexity=0)["type"] == "ready"
            with connect(ws_url) as third, pytest.raises(ConnectionClosed) as closed:
                third.recv(timeout=WAIT_S)
            assert closed.value.rcvd.code == 1013 and "busy" in closed.value.rcvd.reason
            with httpx.Client(base_url=url, timeout=60) as client:
                busy = client.post("/v1/pose", content=frames[0])
                assert busy.status_code == 429 and busy.headers["retry-after"] == "1"
                assert "2 connections" in busy.json()["detail"]
                assert client.get("/healthz").json()["connections"] == 2  # health checks are not counted
                second.close()
                deadline = time.monotonic() + 30
                while client.get("/healthz").json()["connections"] != 1 and time.monotonic() < deadline:
                    time.sleep(0.1)
                assert client.post("/v1/pose", content=frames[0]).status_code == 200
            # The first socket now says nothing: the server closes it after the idle timeout.
            with pytest.raises(ConnectionClosed) as idle:
                first.recv(timeout=WAIT_S)
            assert idle.value.rcvd.code == 1000 and "idle" in idle.value.rcvd.reason


def test_clients_vanishing_mid_frame_free_their_connection_and_memory(frames):
    """Sockets dropped (no close frame) while their frame is processed: the slots come back, memory stays flat."""
    from socket import SHUT_RDWR

    import httpx
    import psutil

    with running_server("--max-connections", "3") as (url, process):
        ws_url = url.replace("http://", "ws://")

        def vanish(k: int) -> None:
            with connect(ws_url) as socket:
                configure(socket, model_complexity=k % 2)
                socket.send(frame(100.0, frames[k % len(frames)]))
                socket.socket.shutdown(SHUT_RDWR)  # gone without a close handshake

        def settled(client) -> int:
            deadline = time.monotonic() + 30
            while client.get("/healthz").json()["connections"] and time.monotonic() < deadline:
                time.sleep(0.1)
            return psutil.Process(process.pid).memory_info().rss

        with httpx.Client(base_url=url, timeout=60) as client:
            for k in range(4):
                vanish(k)
            warm = settled(client)
            for k in range(12):
                vanish(k)
            after = settled(client)
            assert client.get("/healthz").json()["connections"] == 0
        assert after < warm + 40 * 2**20, (warm, after)  # 12 more sessions; a kept landmarker holds tens of MB
        with connect(ws_url) as socket:
            assert configure(socket, model_complexity=0)["type"] == "ready"


def test_a_page_of_another_site_may_not_open_the_socket(server):
    """Browsers let any page open a WebSocket to this machine; the page's origin tells the demo page from
    another site's scripts (which would otherwise use the server freely)."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect

    own = server.replace("ws://", "http://")
    with ws_connect(server + "/v1/ws/pose", origin=own, open_timeout=30, close_timeout=10) as socket:
        assert configure(socket, model_complexity=0)["type"] == "ready"
    with ws_connect(server + "/v1/ws/pose", origin="https://evil.example", open_timeout=30) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=WAIT_S)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "--allow-origin" in closed.value.rcvd.reason


def test_allowed_origins_are_let_in():
    from blazepose.web.limits import origin_allowed

    def scope(origin: str) -> dict:
        return {"headers": [(b"host", b"127.0.0.1:8000"), (b"origin", origin.encode())]}

    assert origin_allowed(scope("http://127.0.0.1:8000"), ())
    assert not origin_allowed(scope("http://127.0.0.1:8001"), ())
    assert not origin_allowed(scope("https://app.example"), ())
    assert origin_allowed(scope("https://app.example"), ("https://app.example",))
    assert origin_allowed(scope("https://other.example"), ("*",))
    assert origin_allowed({"headers": [(b"host", b"127.0.0.1:8000")]}, ())  # not a browser: no origin
