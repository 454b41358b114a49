"""Limits and bad input: body sizes (413), stalled bodies (408), concurrent connections (429 / 1013),
undecodable images (400).

:class:`LimitsMiddleware` is plain ASGI, so it turns a request away before
any route reads it: an announced ``Content-Length`` over the limit is
refused at once, and a body that grows past it while streaming is cut off.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
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


class BodyStalled(Exception):
    pass


class ClientGone(Exception):
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
                await refuse_socket(receive, send, CLOSE_TRY_AGAIN_LATER, message)
            else:
                await send_json(send, 429, {"detail": message}, [(b"retry-after", b"1")])
            return
        try:
            if scope["type"] == "http":
                await self._http(scope, receive, send)
            elif not origin_allowed(scope, self.settings.allowed_origins):
                reason = "a page of another site may not open this socket (blazepose serve --allow-origin)"
                await refuse_socket(receive, send, CLOSE_POLICY, reason)
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
        body_done = False
        wait_s = self.settings.body_timeout_s
        min_rate = self.settings.min_body_bytes_per_s
        began = time.monotonic()

        async def counted_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # (the body is in: a route may wait on for the client's disconnect)
                return await receive()
            try:
                with anyio.fail_after(wait_s):
                    message = await receive()
            except TimeoutError:
                raise BodyStalled(f"no part of the request body came for {wait_s:g} s") from None
            if message["type"] == "http.disconnect":
                raise ClientGone
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    raise BodyTooLarge
                elapsed = time.monotonic() - began
                if not body_done and elapsed > wait_s and received < min_rate * elapsed:  # a trickle holds a slot
                    raise BodyStalled(
                        f"the request body came at {received / elapsed:.0f} bytes/s, under the {min_rate:g} asked"
                    )
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
        except BodyStalled as stalled:
            if not started:
                await send_json(send, 408, {"detail": str(stalled)})
        except ClientGone:  # the client left before its body was in: no one to answer
            pass


async def refuse_socket(receive: Receive, send: Send, code: int, reason: str) -> None:
    """Accepts a WebSocket and closes it at once with ``code`` and ``reason`` (a browser shows a close
    code; a refused handshake would tell it nothing)."""
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.close", "code": code, "reason": reason[:120]})


def origin_allowed(scope: Scope, allowed: tuple[str, ...]) -> bool:
    """Whether a WebSocket's opener may use it: no ``Origin`` (not a browser), the server's own page (the
    origin's host and port are the ``Host`` the browser asked), or an allowed origin (``*``: any).

    Browsers let any page open a WebSocket to any address, this machine's included, and send the page's
    origin with it: that is what tells another site's scripts from the demo page."""
    headers = dict(scope["headers"])
    origin = headers.get(b"origin", b"").decode("latin-1").strip()
    if not origin or "*" in allowed or origin in allowed:
        return True
    host = headers.get(b"host", b"").decode("latin-1").strip().lower()
    return origin.lower().split("://", 1)[-1] == host


async def send_json(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": data})


def decode_image(data: bytes, max_pixels: int, what: str = "upload") -> np.ndarray:
    """The RGB pixels of an encoded image (JPEG, PNG, WebP, BMP, GIF, TIFF...).

    The size is read from the image's header first (Pillow), so that a small
    file that claims a huge image (a decompression bomb) is refused before
    anything is decoded.

    Raises:
        RequestError: 400 when the bytes are empty or not a readable image,
            413 when the image has more than ``max_pixels`` pixels.
    """
    import cv2

    if not data:
        raise RequestError(400, f"the {what} is empty; expected an encoded image (JPEG, PNG, WebP...)")
    unreadable = RequestError(
        400, f"the {what} ({len(data)} bytes) is not a readable image (corrupt, truncated or not JPEG/PNG/WebP/BMP)"
    )
    width, height = _header_size(data, max_pixels, what) or (0, 0)
    if width * height == 0:
        raise unreadable
    if height * width > max_pixels:
        raise RequestError(413, f"the {what} is {width}x{height} pixels, over the limit of {max_pixels} pixels")
    try:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as e:  # a header OpenCV refuses (sizes over its own limits...)
        raise unreadable from e
    if bgr is None:
        raise unreadable
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _header_size(data: bytes, max_pixels: int, what: str) -> tuple[int, int] | None:
    """(width, height) from an image's header, None when Pillow cannot read one."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.size
        except Image.DecompressionBombError as e:
            raise RequestError(413, f"the {what} is over the limit of {max_pixels} pixels ({e})") from e
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
            return None
