"""``blazepose serve``: its options, its one-line errors, and a real server answering."""

from __future__ import annotations

import subprocess
import sys
import urllib.request

import pytest


def serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "blazepose", "serve", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_lists_the_options():
    run = serve("--help")
    assert run.returncode == 0
    for option in ("--host", "--port", "--max-connections", "--max-upload-mb", "--idle-timeout", "127.0.0.1"):
        assert option in run.stdout


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["--max-connections", "0"], "max_connections must be an int >= 1"),
        (["--idle-timeout", "0"], "idle_timeout_s must be > 0"),
        (["--port", "70000"], "port must be in 0..65535"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(args, complaint):
    run = serve(*args)
    assert run.returncode == 2 and complaint in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


def test_the_command_serves_the_page_on_localhost():
    pytest.importorskip("fastapi", reason="needs the web extra")
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "web"))
    from web_server import running_server

    with running_server() as (url, _):
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/", timeout=30) as page:
            assert b"blazepose live demo" in page.read()
