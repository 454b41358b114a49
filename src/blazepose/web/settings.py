"""The server's settings: address, limits and timeouts (no web library imported here)."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """What ``blazepose serve`` binds to and what it accepts.

    Attributes:
        host: Address to bind; 127.0.0.1 (this machine only) unless told otherwise.
        port: TCP port.
        max_image_bytes: Largest photo body for ``POST /v1/pose`` (413 beyond).
        max_video_bytes: Largest video body for ``POST /v1/pose/video`` (413 beyond).
        max_frame_bytes: Largest WebSocket message (the socket is closed with 1009 beyond).
        max_image_pixels: Largest decoded photo or frame, width times height (413 beyond).
        max_connections: API requests and WebSockets open at once; beyond it HTTP
            answers 429 and a WebSocket is closed with 1013 ("try again later").
        inference_threads: Frames processed at once over all clients; others wait their turn.
        model_threads: Inference threads per model (None: the engine's default).
        request_timeout_s: A photo's processing time limit (504 beyond).
        idle_timeout_s: A WebSocket that sends nothing for this long is closed.
        body_timeout_s: A request body from which no byte comes for this long
            is answered 408 and its connection freed.
        min_body_bytes_per_s: A request body that, after its first
            ``body_timeout_s``, has come slower than this on average is answered
            408 too (a trickle of a byte now and then would hold a connection
            slot for ever); 0: no minimum.
        max_poses: Largest ``num_poses`` a client may ask for.
        allowed_origins: Web pages of other origins (``https://app.example``,
            or ``*`` for any) whose scripts may open the WebSocket; a browser
            says which page opens one, and pages of other sites are refused
            (clients that are not browsers send no origin and are let in).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_image_bytes: int = 20 * MIB
    max_video_bytes: int = 500 * MIB
    max_frame_bytes: int = 4 * MIB
    max_image_pixels: int = 40_000_000
    max_connections: int = 16
    inference_threads: int = 2
    model_threads: int | None = None
    request_timeout_s: float = 60.0
    idle_timeout_s: float = 120.0
    body_timeout_s: float = 30.0
    min_body_bytes_per_s: float = 1024.0
    max_poses: int = 8
    allowed_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_image_bytes", "max_video_bytes", "max_frame_bytes", "max_image_pixels",
                     "max_connections", "inference_threads", "max_poses"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        threads = self.model_threads
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ValueError(f"model_threads must be None or an int >= 1, got {threads!r}")
        for name in ("request_timeout_s", "idle_timeout_s", "body_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0 seconds, got {getattr(self, name)!r}")
        if not self.min_body_bytes_per_s >= 0:
            raise ValueError(f"min_body_bytes_per_s must be >= 0, got {self.min_body_bytes_per_s!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {self.port}")
