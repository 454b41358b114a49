"""The HTTP API against a real ``blazepose serve`` process: answers, schemas, bad input, limits, many clients."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from web_server import NEEDS_WEB, running_server

from media_helpers import make_clip

pytestmark = NEEDS_WEB
LANDMARKS = 33


@pytest.fixture(scope="module")
def server():
    with running_server("--max-upload-mb", "1", "--max-video-mb", "2") as (url, process):
        yield url, process


@pytest.fixture(scope="module")
def client(server):
    import httpx

    with httpx.Client(base_url=server[0], timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def photo(astronaut) -> bytes:
    import cv2

    return cv2.imencode(".jpg", cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def clip(astronaut, tmp_path_factory) -> Path:
    """Six frames of the astronaut sliding right, 25 fps, as an MP4."""
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", 6, astronaut, fps=25, shift=4)


@pytest.fixture(scope="module")
def small_avi(astronaut, tmp_path_factory) -> Path:
    """40 frames of the astronaut at 256 x 256 as an AVI (which decodes up to where it is cut)."""
    return make_clip(tmp_path_factory.mktemp("avi") / "full.avi", 40, np.ascontiguousarray(astronaut[::2, ::2]))


def in_process_photo(jpeg: bytes) -> dict:
    import cv2

    from blazepose.io.landmark_files import FrameRecord, record_to_dict
    from blazepose.tasks.pose_landmarker import PoseLandmarker, PoseLandmarkerOptions

    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    with PoseLandmarker.create_from_options(PoseLandmarkerOptions(model_complexity=1)) as landmarker:
        return record_to_dict(FrameRecord(0, None, landmarker.detect(rgb).result))


def assert_same_poses(got: dict, expected: dict) -> None:
    """Same frame, size and poses; coordinates equal to 1e-5 (thread counts may differ)."""
    from blazepose.io.landmark_files import record_from_dict

    a, b = record_from_dict(got), record_from_dict(expected)
    assert (a.frame, a.timestamp_ms, a.result.image_size) == (b.frame, b.timestamp_ms, b.result.image_size)
    assert a.result.track_ids.tolist() == b.result.track_ids.tolist()
    for name in ("landmarks", "world_landmarks", "visibility", "presence", "pose_scores"):
        np.testing.assert_allclose(getattr(a.result, name), getattr(b.result, name), atol=1e-5, err_msg=name)


def test_healthz(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["max_connections"] == 16


def test_a_photo_as_a_form_field_gives_the_run_commands_record(client, photo):
    answer = client.post("/v1/pose", files={"image": ("astronaut.jpg", photo, "image/jpeg")})
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["schema_version"] == 1 and record["frame"] == 0 and record["timestamp_ms"] is None
    assert record["image_size"] == [512, 512] and len(record["poses"]) == 1
    pose = record["poses"][0]
    assert pose["id"] == 0 and len(pose["landmarks"]) == LANDMARKS and len(pose["world_landmarks"]) == LANDMARKS
    assert set(pose["landmarks"]["nose"]) == {"x", "y", "z", "visibility", "presence"}
    assert_same_poses(record, in_process_photo(photo))


def test_a_photo_as_the_raw_body_gives_the_same_record(client, photo):
    form = client.post("/v1/pose", files={"image": ("a.jpg", photo, "image/jpeg")}).json()
    raw = client.post("/v1/pose", content=photo, headers={"content-type": "image/jpeg"})
    assert raw.status_code == 200
    assert_same_poses(raw.json(), form)


@pytest.mark.parametrize(
    "body, complaint",
    [
        (b"", "empty"),
        (b"this is not an image at all", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a readable image"),  # a PNG signature, then nothing
    ],
)
def test_a_corrupt_upload_gets_400_with_a_message_and_the_server_lives_on(client, photo, body, complaint):
    answer = client.post("/v1/pose", content=body, headers={"content-type": "image/jpeg"})
    assert answer.status_code == 400 and complaint in answer.json()["detail"]
    answer = client.post("/v1/pose", files={"image": ("bad.jpg", body, "image/jpeg")})
    assert answer.status_code == 400 and complaint in answer.json()["detail"]
    assert client.post("/v1/pose", content=photo).status_code == 200


def test_a_truncated_jpeg_never_gives_a_500(client, photo):
    answer = client.post("/v1/pose", content=photo[: len(photo) // 3])
    assert answer.status_code in (200, 400), answer.text  # OpenCV may decode the top of a cut JPEG


def test_an_oversize_upload_gets_413(client):
    big = b"\xff" * (1024 * 1024 + 1)
    announced = client.post("/v1/pose", content=big)
    assert announced.status_code == 413 and "over the limit" in announced.json()["detail"]
    chunked = client.post("/v1/pose", content=iter([big[:500_000], big[500_000:]]))  # no Content-Length
    assert chunked.status_code == 413
    form = client.post("/v1/pose", files={"image": ("big.jpg", big, "image/jpeg")})
    assert form.status_code == 413
    video = client.post("/v1/pose/video", content=b"\x00" * (2 * 1024 * 1024 + 1))
    assert video.status_code == 413


def test_bad_options_and_a_missing_field_get_422(client, photo):
    assert client.post("/v1/pose?model_complexity=3", content=photo).status_code == 422
    assert client.post("/v1/pose?num_poses=9", content=photo).status_code == 422  # above max_poses (8)
    assert client.post("/v1/pose?min_detection_confidence=2", content=photo).status_code == 422
    answer = client.post("/v1/pose", files={"picture": ("a.jpg", photo, "image/jpeg")})
    assert answer.status_code == 422 and "'image'" in answer.json()["detail"]


def test_a_video_streams_one_record_per_frame_as_in_process(client, clip):
    from blazepose.io.landmark_files import FrameRecord, record_to_dict
    from blazepose.io.video import VideoSource
    from blazepose.tasks.pose_landmarker import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    with client.stream("POST", "/v1/pose/video", files={"video": ("clip.mp4", clip.read_bytes(), "video/mp4")}) as a:
        assert a.status_code == 200 and a.headers["content-type"].startswith("application/x-ndjson")
        records = [json.loads(line) for line in a.iter_lines() if line]
    source = VideoSource(str(clip))
    options = PoseLandmarkerOptions(running_mode=RunningMode.VIDEO, model_complexity=1)
    with PoseLandmarker.create_from_options(options) as landmarker:
        expected = [
            record_to_dict(
                FrameRecord(f.index, f.timestamp_ms, landmarker.detect_for_video(f.rgb, f.timestamp_ms).result)
            )
            for f in source.frames()
        ]
    source.close()
    assert [r["frame"] for r in records] == list(range(6))
    assert [r["timestamp_ms"] for r in records] == [40.0 * k for k in range(6)]
    assert all(len(r["poses"]) == 1 and r["poses"][0]["id"] == 0 for r in records)  # one tracked person
    for got, want in zip(records, expected, strict=True):
        assert_same_poses(got, want)


def test_a_video_as_the_raw_body_and_a_non_video(client, clip):
    raw = client.post("/v1/pose/video?model_complexity=0", content=clip.read_bytes())
    assert raw.status_code == 200 and len(raw.text.splitlines()) == 6
    bad = client.post("/v1/pose/video", content=b"no video here" * 100)
    assert bad.status_code == 400 and "not a readable video" in bad.json()["detail"]
    assert "/tmp" not in bad.json()["detail"]  # the temporary file's name is not shown


def test_many_concurrent_clients_get_the_same_answer(server, photo):
    import httpx

    def ask(_: int) -> tuple[int, list]:
        with httpx.Client(base_url=server[0], timeout=120) as c:
            answers = [c.post("/v1/pose", content=photo) for _ in range(2)]
        return answers[0].status_code, [a.json()["poses"] for a in answers if a.status_code == 200]

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(ask, range(12)))
    assert [status for status, _ in results] == [200] * 12
    first = results[0][1][0]
    assert all(poses == [first, first] for _, poses in results)  # same pipeline, same photo, same numbers
    assert server[1].poll() is None


def test_the_openapi_docs_list_the_routes(client):
    schema = client.get("/openapi.json").json()
    assert {"/v1/pose", "/v1/pose/video", "/healthz"} <= set(schema["paths"])
    assert "multipart/form-data" in schema["paths"]["/v1/pose"]["post"]["requestBody"]["content"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text


def test_a_video_that_breaks_off_ends_with_an_error_line_that_load_landmarks_reads(client, small_avi, tmp_path):
    from blazepose.io.landmark_files import load_landmarks

    data = small_avi.read_bytes()
    answer = client.post("/v1/pose/video?model_complexity=0", content=data[: int(len(data) * 0.3)])
    lines = answer.text.splitlines()
    assert answer.status_code == 200 and len(lines) >= 2
    last = json.loads(lines[-1])
    assert set(last) == {"error"} and "truncated or corrupt video" in last["error"]
    assert "/tmp" not in last["error"] and "blazepose-upload" not in last["error"]  # no temporary file named
    saved = tmp_path / "cut.landmarks.jsonl"
    saved.write_text(answer.text)
    with pytest.warns(UserWarning, match="then the error that ended them: upload: truncated"):
        records = load_landmarks(saved)
    assert [r.frame for r in records] == list(range(len(lines) - 1))
