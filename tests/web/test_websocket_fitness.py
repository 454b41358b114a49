"""Repetitions counted on the live WebSocket against a real server: a squat clip, the same count as in-process."""

from __future__ import annotations

import json

import pytest
from test_websocket import WAIT_S, connect, frame
from web_server import NEEDS_WEB, running_server

from conftest import SHARED_DATA

pytestmark = NEEDS_WEB
SQUATS = SHARED_DATA / "exercise" / "squats" / "squat_13.mp4"  # 2 squats in 5.4 s (130 frames at 23.976 fps)
STEP = 2  # every other frame: 65 frames
START_MS = 5000.0


@pytest.fixture(scope="module")
def server():
    with running_server() as (url, _):
        yield url.replace("http://", "ws://")


@pytest.fixture(scope="module")
def squat_frames() -> list[tuple[float, bytes]]:
    """(browser timestamp in ms, JPEG) of every other frame of a clip with two squats."""
    if not SQUATS.is_file():
        pytest.skip(f"needs the shared squat clip {SQUATS}")
    av = pytest.importorskip("av", reason="PyAV (web extra) reads the squat clip")
    import cv2

    with av.open(str(SQUATS)) as container:
        rgbs = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)][::STEP]
    return [
        (START_MS + 1000 * STEP / 23.976 * k, cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes())
        for k, rgb in enumerate(rgbs)
    ]


def configure(socket, options: dict, fitness) -> dict:
    socket.send(json.dumps({"type": "config", "options": options, "fitness": fitness}))
    return json.loads(socket.recv(timeout=WAIT_S))


def in_process_counts(squat_frames) -> list[dict[int, int]]:
    """Per frame, the counts of RepTracker fed in this process with what the server sees."""
    from blazepose.fitness import RepTracker
    from blazepose.tasks.pose_landmarker import PoseLandmarker, RunningMode
    from blazepose.web.inference import PoseOptions
    from blazepose.web.limits import decode_image

    tracker, counts = RepTracker(exercise="auto"), []
    options = PoseOptions(model_complexity=0).landmarker_options(RunningMode.VIDEO, None)
    with PoseLandmarker.create_from_options(options) as landmarker:
        for timestamp_ms, jpeg in squat_frames:
            result = landmarker.detect_for_video(decode_image(jpeg, 10**8, "frame"), timestamp_ms).result
            tracker.update(result, timestamp_ms / 1000)
            counts.append({track: report.count for track, report in tracker.reports().items()})
    return counts


def test_squats_are_counted_per_track_as_in_process(server, squat_frames):
    with connect(server) as socket:
        ready = configure(socket, {"model_complexity": 0}, {"exercise": "auto"})
        assert ready["type"] == "ready" and ready["fitness"] == {"exercise": "auto"}
        answers = []
        for timestamp_ms, jpeg in squat_frames:
            socket.send(frame(timestamp_ms, jpeg))
            answers.append(json.loads(socket.recv(timeout=WAIT_S)))
    assert [a["type"] for a in answers] == ["result"] * len(squat_frames)
    fitness = [a["fitness"] for a in answers]
    assert [f["frames"] for f in fitness] == list(range(1, len(squat_frames) + 1))
    expected = in_process_counts(squat_frames)
    analysed = [f for f in fitness if f["counted_frames"] == f["frames"]]
    assert len(analysed) >= 5  # re-analysed every few frames
    for f in analysed:
        assert {t["id"]: t["count"] for t in f["tracks"]} == expected[f["frames"] - 1]
    counts = [f["tracks"][0]["count"] if f["tracks"] else 0 for f in fitness]
    assert counts[0] == 0 and counts[-1] == 2 and counts == sorted(counts)  # rises to the two squats
    last = fitness[-1]["tracks"][0]
    assert last["id"] == 0 and last["exercise"] == "squat"
    assert {t["phase"] for f in fitness for t in f["tracks"]} >= {"rest", "far point"}


def test_counting_is_off_by_default_and_reset_starts_again(server, squat_frames):
    with connect(server) as socket:
        assert configure(socket, {"model_complexity": 0}, None)["fitness"] is None
        socket.send(frame(*squat_frames[0]))
        assert json.loads(socket.recv(timeout=WAIT_S))["fitness"] is None
        assert configure(socket, {"model_complexity": 0}, {"exercise": "Squats"})["fitness"] == {"exercise": "squat"}
        for timestamp_ms, jpeg in squat_frames[1:4]:
            socket.send(frame(timestamp_ms, jpeg))
            answer = json.loads(socket.recv(timeout=WAIT_S))
        assert answer["fitness"]["frames"] == 3 and answer["fitness"]["exercise"] == "squat"
        socket.send(json.dumps({"type": "reset"}))
        assert json.loads(socket.recv(timeout=WAIT_S)) == {"type": "reset"}
        socket.send(frame(*squat_frames[4]))
        assert json.loads(socket.recv(timeout=WAIT_S))["fitness"]["frames"] == 1


@pytest.mark.parametrize(
    ("fitness", "message"),
    [
        ({"exercise": "juggling"}, "fitness exercise must be one of"),
        ({"exercise": 3}, "fitness exercise must be one of"),
        ({"exercise": "auto", "speed": 2}, "unknown fitness option"),
        ("squat", "fitness must be null or a JSON object"),
        (True, "fitness must be null or a JSON object"),
    ],
    ids=["unknown exercise", "number", "unknown key", "a string", "true"],
)
def test_bad_fitness_options_are_errors_and_the_connection_goes_on(server, squat_frames, fitness, message):
    with connect(server) as socket:
        error = configure(socket, {"model_complexity": 0}, fitness)
        assert error["type"] == "error" and message in error["message"]
        socket.send(frame(*squat_frames[0]))
        answer = json.loads(socket.recv(timeout=WAIT_S))
        assert answer["type"] == "result" and answer["fitness"] is None


def test_the_server_imports_fitness_only_when_counting_is_on():
    import subprocess
    import sys

    code = (
        "import sys; from blazepose.web.app import create_app; from blazepose.web.routes_ws import router; "
        "from blazepose.web.inference import LiveSession; "
        "print(sorted(m for m in sys.modules if m.startswith('blazepose.fitness')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_one_person_keeps_one_count_when_they_leave_and_come_back():
    """A connection following one pose: 8 squats, 3 s away (the tracker's id changes), 7 squats: one
    track, id 0, 15 repetitions (per track id, the first 8 were forgotten and the count restarted)."""
    from blazepose.web.counting import FitnessOptions, LiveCounter
    from fitness_poses import one_person_leaving

    answers = {}
    for one_person in (True, False):
        counter = LiveCounter(FitnessOptions("squat"), one_person=one_person)
        for time_s, result in one_person_leaving():
            answer = counter.update(result, time_s)
        answers[one_person] = [(t["id"], t["count"]) for t in answer["tracks"]]
    assert answers == {True: [(0, 15)], False: [(1, 7)]}
