"""The ``blazepose`` command: one module per verb, each a thin layer over the library."""

from __future__ import annotations

import argparse
import sys

import blazepose
from blazepose.cli import demo, eval, run

COMMANDS = (run, eval, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blazepose", description="MediaPipe Pose (BlazePose) in numpy.")
    parser.add_argument("--version", action="version", version=f"blazepose {blazepose.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except KeyboardInterrupt:  # Ctrl-C before a command installed its own handling, or twice
        print("blazepose: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
