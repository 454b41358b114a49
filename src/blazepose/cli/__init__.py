"""The ``blazepose`` command: one module per verb, each a thin layer over the library."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

import blazepose
from blazepose.cli import classifier, demo, eval, reps, run, serve

COMMANDS = (run, eval, demo, reps, classifier, serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blazepose", description="MediaPipe Pose (BlazePose) in numpy.")
    parser.add_argument("--version", action="version", version=f"blazepose {blazepose.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command; Ctrl-C or SIGTERM before a command installs its own
    handling end it quietly with 130 or 143 (nothing was written yet)."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if in_main_thread else None
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = build_parser().parse_args(argv)
        args.argv = argv
        return args.func(args)
    except KeyboardInterrupt:  # before a command's own handling, or a second Ctrl-C
        print("blazepose: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
