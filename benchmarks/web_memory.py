"""Server memory over repeated rounds of WebSocket sessions (does it come back down when sessions close?).

    .venv/bin/python benchmarks/web_memory.py [--rounds 8] [--clients 4] [--seconds 1]

Starts ``blazepose serve`` on 127.0.0.1 and runs ``--rounds`` rounds of
``--clients`` simultaneous sessions (full model, ``--seconds`` of streaming
each), printing the server's resident memory before and after each round.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from web_load import VIDEO, jpeg_frames, round_of, rss_mb, start_server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    if not (1 <= args.rounds <= 100 and 1 <= args.clients <= 64 and 0 < args.seconds <= 60):
        parser.error("rounds in 1..100, clients in 1..64, seconds in (0, 60]")
    frames = jpeg_frames(VIDEO, 30)
    process, url = start_server(argparse.Namespace(clients=[args.clients], inference_threads=2))
    try:
        print(f"before: {rss_mb(process.pid):.1f} MB", flush=True)
        for k in range(args.rounds):
            asyncio.run(round_of(url, frames, args.clients, args.seconds, 1))
            time.sleep(0.5)  # the sessions are closed
            print(f"after round {k + 1}: {rss_mb(process.pid):.1f} MB", flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
