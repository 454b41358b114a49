"""Limits and bad input: body sizes (413), concurrent connections (429 / 1013), undecodable images (400).

:class:`LimitsMiddleware` is plain ASGI, so it turns a request away before
any route reads it: an announced ``Content-Length`` over the limit is
refused at once, and a body that grows past it while streaming is cut off.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import numpy as np

from blazepose.web.settings import ServeSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# WebSocket close codes (RFC 6455 and IANA's registry).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013


class RequestError(Exception):
    """A client's mistake, answered with ``status`` and ``{"detail": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConnectionCounter:
    """How many API requests and WebSockets are open, against a ceiling."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.refused = 0
        self._lock = threading.Lock()

    def try_enter(self) -> bool:
        with self._lock:
            if self.active >= self.limit:
                self.refused += 1
                return False
            self.active += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self.active -= 1


class BodyTooLarge(Exception):
    pass


def body_limit(settings: ServeSettings, path: str) -> int:
    """The largest request body a path accepts."""
    return settings.max_video_bytes if path.startswith("/v1/pose/video") else settings.max_image_bytes


class LimitsMiddleware:
    """Counts ``/v1/`` requests and WebSockets against ``max_connections`` and caps body sizes.

    ``/healthz``, the page and the docs are not counted, so they answer even
    when the API is full.
    """

    def __init__(self, app: ASGIApp, settings: ServeSettings, counter: ConnectionCounter) -> None:
        self.app = app
        self.settings = settings
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        if not self.counter.try_enter():
            message = f"server busy: {self.counter.limit} connections open already; try again later"
            if scope["type"] == "websocket":
                await receive()  # websocket.connect
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER, "reason": message[:120]})
            else:
                await send_json(send, 429, {"detail": message}, [(b"retry-after", b"1")])
            return
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send)
            else:
                await self.app(scope, receive, send)
        finally:
            self.counter.leave()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = body_limit(self.settings, scope["path"])
        too_big = f"request body over the limit of {limit} bytes for {scope['path']}"
        announced = dict(scope["headers"]).get(b"content-length")
        if announced is not None and announced.isdigit() and int(announced) > limit:
            await send_json(send, 413, {"detail": too_big})
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await send_json(send, 413, {"detail": too_big})


async def send_json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": data})


def decode_image(data: bytes, max_pixels: int, what: str = "upload") -> np.ndarray:
    """The RGB pixels of an encoded image (JPEG, PNG, WebP, BMP...).

    Raises:
        RequestError: 400 when the bytes are empty or not a decodable image,
            413 when the image has more than ``max_pixels`` pixels.
    """
    import cv2

    if not data:
        raise RequestError(400, f"the {what} is empty; expected an encoded image (JPEG, PNG, WebP...)")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise RequestError(
            400, f"the {what} ({len(data)} bytes) is not a readable image (corrupt, truncated or not JPEG/PNG/WebP/BMP)"
        )
    height, width = bgr.shape[:2]
    if height * width > max_pixels:
        raise RequestError(413, f"the {what} is {width}x{height} pixels, over the limit of {max_pixels} pixels")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
