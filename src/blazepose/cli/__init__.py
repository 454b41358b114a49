"""The ``blazepose`` command: one module per verb, each a thin layer over the library."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import NoReturn

import blazepose
from blazepose.backends import engine_notices_quiet
from blazepose.cli import classifier, demo, eval, reps, run, serve

COMMANDS = (run, eval, demo, reps, classifier, serve)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (what was wrong, and where help is), exit 2.

    argparse prints the whole usage block first, a dozen lines for ``run``, before the line that says
    what was wrong; subcommands' parsers are of this class too (argparse makes them of the parent's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="blazepose", description="MediaPipe Pose (BlazePose) in numpy.")
    parser.add_argument("--version", action="version", version=f"blazepose {blazepose.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the command (a command that handles SIGINT/SIGTERM itself sets
    ``args.signal_state.handles_signals``); Ctrl-C or SIGTERM before a command installs its own
    handling end it quietly with 130 or 143 (nothing was written yet).

    Called as the program (no ``argv``), it leaves SIGINT and SIGTERM ignored
    once the command has returned: its files are closed, and a late signal
    must not turn a finished run into a failed or killed process (interpreter
    shutdown gives handled signals their default action back, not ignored
    ones)."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    state = argparse.Namespace(finished=False, handles_signals=False)

    def on_sigterm(signum: int, frame: object) -> None:
        # A command that handled signals itself (handles_signals) has already
        # answered any signal that came while it ran; one pending as it gave
        # the handlers back must not turn its finished work into a failure.
        if not (state.finished or state.handles_signals):
            sys.exit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_sigterm) if in_main_thread else None
    as_program = argv is None
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = build_parser().parse_args(argv)
        args.argv = argv
        args.signal_state = state
        with engine_notices_quiet(bool(getattr(args, "quiet", False))):
            status = args.func(args)
        state.finished = True
        return status
    except KeyboardInterrupt:  # before a command's own handling, or a second Ctrl-C
        print("blazepose: interrupted", file=sys.stderr)
        return 130
    finally:
        if as_program and in_main_thread:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif previous is not None:
            signal.signal(signal.SIGTERM, previous)
