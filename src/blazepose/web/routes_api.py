"""The JSON API: ``POST /v1/pose`` (a photo), ``POST /v1/pose/video`` (JSON Lines per frame), ``GET /healthz``."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from blazepose.core.timestamps import after_previous_ms
from blazepose.core.topology import LANDMARK_NAMES, LEFT_LANDMARKS, POSE_CONNECTIONS, RIGHT_LANDMARKS
from blazepose.io.landmark_files import SCHEMA_VERSION, FrameRecord, record_to_dict
from blazepose.web.inference import PoseOptions, trim_heap
from blazepose.web.limits import RequestError, body_limit
from blazepose.web.settings import ServeSettings

router = APIRouter()
T = TypeVar("T")

IMAGE_BODY = {
    "requestBody": {
        "required": True,
        "description": "The photo (JPEG, PNG, WebP, BMP) as the raw body, or as the file field `image` of a form.",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"image": {"type": "string", "format": "binary"}},
                    "required": ["image"],
                }
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
VIDEO_BODY = {
    "requestBody": {
        "required": True,
        "description": "The video file (anything FFmpeg reads) as the raw body, or as the file field `video`.",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"video": {"type": "string", "format": "binary"}},
                    "required": ["video"],
                }
            },
            "video/*": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def pose_options(
    request: Request,
    model_complexity: int = Query(1, ge=0, le=2, description="0 lite, 1 full, 2 heavy"),
    num_poses: int = Query(1, ge=1, description="largest number of poses to return"),
    min_detection_confidence: float = Query(0.5, ge=0, le=1),
    min_tracking_confidence: float = Query(0.5, ge=0, le=1, description="also the presence threshold"),
    smooth_landmarks: bool = Query(True, description="videos only: filter landmarks over time"),
) -> PoseOptions:
    settings: ServeSettings = request.app.state.settings
    try:
        return PoseOptions.from_mapping(
            {"model_complexity": model_complexity, "num_poses": num_poses, "smooth_landmarks": smooth_landmarks,
             "min_detection_confidence": min_detection_confidence, "min_tracking_confidence": min_tracking_confidence},
            settings.max_poses,
        )  # fmt: skip
    except ValueError as e:
        raise RequestError(422, str(e)) from e


async def in_worker(request: Request, function: Callable[..., T], *args: Any, abandon: bool = True) -> T:
    """Runs blocking work in a worker thread, at most ``inference_threads`` at once, within the request timeout.

    With ``abandon`` a timed-out call is left to finish in its thread (it must
    need nothing the caller frees); without it the caller waits for it.
    """
    settings: ServeSettings = request.app.state.settings
    try:
        with anyio.fail_after(settings.request_timeout_s):
            return await anyio.to_thread.run_sync(
                function, *args, limiter=request.app.state.inference_limiter, abandon_on_cancel=abandon
            )
    except TimeoutError as e:
        raise RequestError(504, f"processing took longer than {settings.request_timeout_s} s") from e


async def upload_part(request: Request, field: str) -> UploadFile | None:
    """The form's file ``field`` for a multipart body; None for a raw body."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    limit = body_limit(request.app.state.settings, request.url.path)
    form = await request.form(max_files=1, max_fields=16, max_part_size=limit)
    part = form.get(field)
    if not isinstance(part, UploadFile):
        raise RequestError(422, f"the form has no file field {field!r}; send the file as {field}=@FILE")
    return part


Options = Annotated[PoseOptions, Depends(pose_options)]


@router.get("/healthz", tags=["service"])
async def healthz(request: Request) -> dict[str, Any]:
    """Liveness: answers while the server runs, with the connections in use."""
    counter = request.app.state.connections
    return {"status": "ok", "connections": counter.active, "max_connections": counter.limit}


@router.get("/v1/topology", tags=["pose"])
async def topology() -> dict[str, Any]:
    """The 33 landmark names, the skeleton's connections and each side's landmarks (the page draws with it)."""
    return {
        "landmarks": list(LANDMARK_NAMES),
        "connections": sorted(POSE_CONNECTIONS),
        "left": sorted(int(i) for i in LEFT_LANDMARKS),
        "right": sorted(int(i) for i in RIGHT_LANDMARKS),
    }


@router.post("/v1/pose", tags=["pose"], openapi_extra=IMAGE_BODY)
async def pose(request: Request, options: Options) -> dict[str, Any]:
    """The poses in one photo (static mode): one record of ``blazepose run``'s JSON Lines schema.

    ``frame`` is 0, ``timestamp_ms`` null, ``image_size`` ``[height, width]``;
    each pose has ``id``, ``score``, 33 named ``landmarks`` (x, y, z,
    visibility, presence) and 33 named ``world_landmarks`` (metres).
    """
    from blazepose.web.limits import decode_image

    settings: ServeSettings = request.app.state.settings
    part = await upload_part(request, "image")
    data = await part.read() if part is not None else await request.body()
    rgb = await in_worker(request, decode_image, data, settings.max_image_pixels)
    result = await in_worker(request, request.app.state.pool.detect, options, rgb)
    return {"schema_version": SCHEMA_VERSION, **record_to_dict(FrameRecord(0, None, result))}


@router.post("/v1/pose/video", tags=["pose"], openapi_extra=VIDEO_BODY, response_class=StreamingResponse)
async def pose_video(request: Request, options: Options) -> StreamingResponse:
    """The poses in every frame of a video (VIDEO mode, tracked and smoothed, with the container's timestamps).

    The answer is JSON Lines (``application/x-ndjson``), one record per frame
    as ``blazepose run`` writes them, sent as frames are processed. A file
    that breaks off part way ends with a line ``{"error": "..."}``.
    """
    path = await save_upload(request)
    try:
        settings: ServeSettings = request.app.state.settings
        lines = await in_worker(request, VideoLines, path, options, settings.model_threads, settings.max_image_pixels)
    except ValueError as e:
        path.unlink(missing_ok=True)
        raise RequestError(400, f"the upload is not a readable video: {upload_message(e, path)}") from e
    except BaseException:
        path.unlink(missing_ok=True)
        raise

    async def stream() -> AsyncIterator[str]:
        try:
            while (line := await in_worker(request, lines.next_line, abandon=False)) is not None:
                yield line
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lines.close)

    return StreamingResponse(stream(), media_type="application/x-ndjson")


def upload_message(error: Exception, path: Path) -> str:
    """An error about a saved upload as the client may read it: the file named ``upload``, not by the
    server's temporary name."""
    return str(error).replace(str(path), "upload")


async def save_upload(request: Request) -> Path:
    """The uploaded video in a temporary file (the caller deletes it)."""
    part = await upload_part(request, "video")
    handle, name = tempfile.mkstemp(prefix="blazepose-upload-", suffix=".video")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            if part is not None:
                await anyio.to_thread.run_sync(shutil.copyfileobj, part.file, out)
            else:
                async for chunk in request.stream():
                    out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if path.stat().st_size == 0:
        path.unlink()
        raise RequestError(400, "the upload is empty; expected a video file")
    return path


class VideoLines:
    """A video's frames as JSON lines, one :meth:`next_line` call per frame (from worker threads, in turn)."""

    def __init__(self, path: Path, options: PoseOptions, model_threads: int | None, max_pixels: int) -> None:
        from blazepose.io.video import VideoSource
        from blazepose.tasks.pose_landmarker import PoseLandmarker, RunningMode

        self.path = path
        self.source = VideoSource(str(path))  # ValueError when it is not a video
        try:
            pixels = (self.source.width or 0) * (self.source.height or 0)
            if pixels > max_pixels:
                raise RequestError(
                    413,
                    f"the video's frames are {self.source.width}x{self.source.height} pixels, over the limit "
                    f"of {max_pixels} pixels",
                )
            self.landmarker = PoseLandmarker.create_from_options(
                options.landmarker_options(RunningMode.VIDEO, model_threads)
            )
        except BaseException:
            self.source.close()
            raise
        self._frames: Iterator = self.source.frames()
        self._last_ms: float | None = None
        self._done = False

    def next_line(self) -> str | None:
        if self._done:
            return None
        try:
            frame = next(self._frames)
        except StopIteration:
            self._done = True
            return None
        except ValueError as e:  # the file breaks off part way
            self._done = True
            return json.dumps({"error": upload_message(e, self.path)}) + "\n"
        ts = after_previous_ms(frame.timestamp_ms, self._last_ms)
        self._last_ms = ts
        result = self.landmarker.detect_for_video(frame.rgb, ts).result
        assert result is not None
        record = record_to_dict(FrameRecord(frame.index, frame.timestamp_ms, result))
        return json.dumps(record, separators=(",", ":")) + "\n"

    def close(self) -> None:
        try:
            close = getattr(self._frames, "close", None)
            if close is not None:
                close()
            self.source.close()
            self.landmarker.close()
        finally:
            self.path.unlink(missing_ok=True)
            trim_heap()  # the freed models' memory back to the system, as after a live session
