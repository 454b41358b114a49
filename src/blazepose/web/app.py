"""The FastAPI application: ``create_app(settings)`` and ``serve(settings)`` (uvicorn)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from blazepose.web import routes_api, routes_ws
from blazepose.web.inference import LandmarkerPool
from blazepose.web.limits import ConnectionCounter, LimitsMiddleware, RequestError
from blazepose.web.settings import ServeSettings

STATIC = Path(__file__).resolve().parent / "static"


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The server: the demo page at ``/``, the API under ``/v1/``, ``/healthz`` and the docs at ``/docs``."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.inference_limiter = anyio.CapacityLimiter(settings.inference_threads)
        try:
            yield
        finally:
            app.state.pool.close()

    app = FastAPI(
        title="blazepose",
        summary="MediaPipe Pose (BlazePose) over HTTP and WebSockets",
        description="Photos and videos in, landmarks out (the schema of `blazepose run`'s JSON Lines); "
        "a live WebSocket at `/v1/ws/pose`; the demo page at `/`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.connections = ConnectionCounter(settings.max_connections)
    app.state.pool = LandmarkerPool(settings.model_threads, max_idle=max(2, settings.inference_threads))
    app.include_router(routes_api.router)
    app.include_router(routes_ws.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(LimitsMiddleware, settings=settings, counter=app.state.connections)

    @app.exception_handler(RequestError)
    async def request_error(request: Request, error: RequestError) -> JSONResponse:
        return JSONResponse({"detail": error.message}, status_code=error.status)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


def serve(settings: ServeSettings, log_level: str = "info") -> None:
    """Runs the server until interrupted (Ctrl-C)."""
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        ws_max_size=settings.max_frame_bytes + 64,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=5,
    )
