"""Starts ``blazepose serve`` in a subprocess on a free port, for the web tests (timeouts everywhere)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

HAS_WEB = all(importlib.util.find_spec(m) is not None for m in ("fastapi", "uvicorn", "multipart", "PIL", "httpx"))
NEEDS_WEB = pytest.mark.skipif(
    not HAS_WEB, reason="needs the web extra (fastapi, uvicorn, python-multipart, pillow) and httpx"
)
SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(*args: str, start_timeout: float = 90) -> Iterator[tuple[str, subprocess.Popen]]:
    """The base URL of a fresh server and its process; stopped (killed if need be) on exit."""
    port = free_port()
    command = [sys.executable, "-m", "blazepose", "serve", "--port", str(port), "--log-level", "warning", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}: {process.stdout.read()}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                    assert json.load(answer)["status"] == "ok"
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not answer /healthz within {start_timeout} s") from None
                time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        if process.stdout:
            process.stdout.close()
