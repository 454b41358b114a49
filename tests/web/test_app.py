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
        def __init__(self, path: str) -> None:
            self.path = path

        def close(self) -> None:
            closed.append(self.path)

    def refuse(options):
        raise RuntimeError("no engine here")

    monkeypatch.setattr(video, "VideoSource", Source)
    monkeypatch.setattr(PoseLandmarker, "create_from_options", staticmethod(refuse))
    with pytest.raises(RuntimeError, match="no engine here"):
        VideoLines(tmp_path / "clip.mp4", PoseOptions(), model_threads=1)
    assert closed == [str(tmp_path / "clip.mp4")]
