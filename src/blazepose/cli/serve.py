"""``blazepose serve``: the JSON API and the live browser demo (the ``web`` extra)."""

from __future__ import annotations

import argparse
import math
import socket
import sys

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the JSON API and the live browser demo",
        description="Serves the demo page at /, POST /v1/pose (a photo), POST /v1/pose/video (JSON Lines per "
        "frame), the live WebSocket /v1/ws/pose, GET /healthz and the API docs at /docs. Needs the web extra: "
        "pip install 'blazepose[web]'.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--max-connections", type=int, default=16, help="API requests and sockets at once (429 beyond)")
    p.add_argument("--inference-threads", type=int, default=2, help="frames processed at once over all clients")
    p.add_argument("--threads", type=int, default=None, help="inference threads per model")
    p.add_argument("--max-upload-mb", type=float, default=20, help="largest photo upload (413 beyond)")
    p.add_argument("--max-video-mb", type=float, default=500, help="largest video upload (413 beyond)")
    p.add_argument("--max-frame-mb", type=float, default=4, help="largest WebSocket frame (closed with 1009 beyond)")
    p.add_argument("--idle-timeout", type=float, default=120, help="seconds before a silent WebSocket is closed")
    p.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web page origin (https://app.example, or '*' for any) whose scripts may open the WebSocket; "
        "by default only the server's own page may (repeatable)",
    )
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import PIL.Image  # noqa: F401  (reads image sizes before decoding: at start, not at the first photo)

        from blazepose.web.app import serve
        from blazepose.web.settings import MIB, ServeSettings
    except ImportError as e:
        print(
            f"blazepose serve: needs the web extra ({e.name} is missing): pip install 'blazepose[web]'", file=sys.stderr
        )
        return 2
    try:
        settings = ServeSettings(
            host=args.host,
            port=args.port,
            max_connections=args.max_connections,
            inference_threads=args.inference_threads,
            model_threads=args.threads,
            max_image_bytes=_bytes("--max-upload-mb", args.max_upload_mb, MIB),
            max_video_bytes=_bytes("--max-video-mb", args.max_video_mb, MIB),
            max_frame_bytes=_bytes("--max-frame-mb", args.max_frame_mb, MIB),
            idle_timeout_s=args.idle_timeout,
            allowed_origins=tuple(origin.rstrip("/") for origin in args.allow_origin),
        )
    except ValueError as e:
        print(f"blazepose serve: {e}", file=sys.stderr)
        return 2
    problem = _cannot_listen(settings.host, settings.port)
    if problem:
        print(f"blazepose serve: cannot listen on {settings.host} port {settings.port}: {problem}", file=sys.stderr)
        return 1
    if args.host not in LOCAL_HOSTS:
        print(f"blazepose serve: listening on {args.host}: reachable from other machines", file=sys.stderr)
    serve(settings, args.log_level)
    return 0


def _bytes(option: str, megabytes: float, mib: int) -> int:
    """A size option in MiB as bytes (at least 1); ValueError naming the option for nan, inf or <= 0."""
    if not (math.isfinite(megabytes) and megabytes > 0):
        raise ValueError(f"{option} must be a finite number of MiB > 0, got {megabytes}")
    return max(1, round(megabytes * mib))


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not bind ``host:port`` (a name that does not resolve, a port in use), or None.

    Checked before uvicorn starts, whose own failure is several log lines and exit status 3.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as e:
        return e.strerror or str(e)
    return None
