"""The live WebSocket ``/v1/ws/pose``: one VIDEO-mode tracker per connection, fed with the browser's frames.

Protocol (details in docs/web.md):

- text ``{"type": "config", "options": {...}}``: (re)creates this connection's
  tracker with :class:`~blazepose.web.inference.PoseOptions`; answered with
  ``{"type": "ready", "options": {...}}`` or ``{"type": "error", ...}``;
- binary: 8 bytes little-endian float64 ``timestamp_ms`` (the browser's
  clock; must increase), then a JPEG (or PNG) frame; answered with
  ``{"type": "result", ...}`` or ``{"type": "error", ...}``.

Frames that arrive while one is being processed replace each other: only the
newest waits, so a client that sends too fast gets fewer answers, never a
growing backlog (the answer's ``dropped`` counts the replaced frames).
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Coroutine
from typing import Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from blazepose.web.inference import LiveSession, PoseOptions, options_dict
from blazepose.web.limits import CLOSE_NORMAL, CLOSE_TOO_BIG, RequestError, decode_image
from blazepose.web.settings import ServeSettings

router = APIRouter()
HEADER = struct.Struct("<d")


class Inbox:
    """The newest frame and the newest options a client sent, not yet handled."""

    def __init__(self) -> None:
        self.options: dict[str, Any] | None = None
        self.frame: tuple[bytes, float] | None = None
        self.dropped = 0
        self._changed = anyio.Event()

    def put_frame(self, data: bytes, received: float) -> None:
        if self.frame is not None:
            self.dropped += 1
        self.frame = (data, received)
        self._changed.set()

    def put_options(self, options: dict[str, Any]) -> None:
        self.options = options
        self._changed.set()

    async def wait(self) -> None:
        await self._changed.wait()
        self._changed = anyio.Event()


@router.websocket("/v1/ws/pose")
async def pose_socket(websocket: WebSocket) -> None:
    """A live stream of frames in, poses out (see the module's docstring)."""
    settings: ServeSettings = websocket.app.state.settings
    await websocket.accept()
    websocket.state.send_lock = anyio.Lock()  # the two loops below both answer
    inbox = Inbox()
    session: list[LiveSession | None] = [None]
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_until_closed, _receive(websocket, settings, inbox), tasks.cancel_scope)
            tasks.start_soon(_until_closed, _answer(websocket, settings, inbox, session), tasks.cancel_scope)
    finally:
        if session[0] is not None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session[0].close)


async def _until_closed(work: Coroutine[Any, Any, None], scope: anyio.CancelScope) -> None:
    """Runs one of the two loops; when it ends (or the client is gone) the other is cancelled."""
    try:
        await work
    except WebSocketDisconnect:
        pass
    finally:
        scope.cancel()


async def _receive(websocket: WebSocket, settings: ServeSettings, inbox: Inbox) -> None:
    while True:
        try:
            with anyio.fail_after(settings.idle_timeout_s):
                message = await websocket.receive()
        except TimeoutError:
            await websocket.close(CLOSE_NORMAL, f"idle for {settings.idle_timeout_s} s")
            break
        if message["type"] == "websocket.disconnect":
            break
        if message.get("bytes") is not None:
            data = message["bytes"]
            if len(data) > settings.max_frame_bytes:
                await websocket.close(CLOSE_TOO_BIG, f"frame over {settings.max_frame_bytes} bytes")
                break
            inbox.put_frame(data, time.perf_counter())
        elif message.get("text") is not None:
            try:
                request = json.loads(message["text"])
                if not isinstance(request, dict) or request.get("type") != "config":
                    raise ValueError('expected {"type": "config", "options": {...}}')
                inbox.put_options(request.get("options") or {})
            except ValueError as e:
                await _send(websocket, {"type": "error", "message": f"bad text message: {e}"})


async def _answer(
    websocket: WebSocket, settings: ServeSettings, inbox: Inbox, session: list[LiveSession | None]
) -> None:
    while True:
        await inbox.wait()
        if inbox.options is not None:
            requested, inbox.options = inbox.options, None
            try:
                options = PoseOptions.from_mapping(requested, settings.max_poses)
            except ValueError as e:
                await _send(websocket, {"type": "error", "message": str(e)})
            else:
                await _replace_session(session, options, settings)
                await _send(websocket, {"type": "ready", "options": options_dict(options)})
        if inbox.frame is not None:
            (data, received), inbox.frame = inbox.frame, None
            if session[0] is None:
                await _replace_session(session, PoseOptions(), settings)
            assert session[0] is not None
            answer = await _process(websocket, settings, session[0], data)
            answer["dropped"] = inbox.dropped
            answer["server_ms"] = round((time.perf_counter() - received) * 1000, 2)
            answer["server_time_ms"] = time.time() * 1000
            await _send(websocket, answer)


async def _replace_session(session: list[LiveSession | None], options: PoseOptions, settings: ServeSettings) -> None:
    old, session[0] = session[0], None
    if old is not None:
        await anyio.to_thread.run_sync(old.close)
    with anyio.CancelScope(shield=True):  # once loading, the session is kept so that it gets closed
        session[0] = await anyio.to_thread.run_sync(LiveSession, options, settings.model_threads)


async def _process(websocket: WebSocket, settings: ServeSettings, session: LiveSession, data: bytes) -> dict[str, Any]:
    if len(data) <= HEADER.size:
        return {
            "type": "error",
            "message": f"a frame is 8 bytes of float64 timestamp_ms then an image; got {len(data)} bytes",
        }

    def work() -> dict[str, Any]:
        (timestamp_ms,) = HEADER.unpack_from(data)
        rgb = decode_image(data[HEADER.size :], settings.max_image_pixels, "frame")
        return session.process(rgb, timestamp_ms)

    try:
        return await anyio.to_thread.run_sync(work, limiter=websocket.app.state.inference_limiter)
    except (RequestError, ValueError) as e:
        return {"type": "error", "message": str(e)}


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    async with websocket.state.send_lock:
        await websocket.send_text(json.dumps(message, separators=(",", ":")))
