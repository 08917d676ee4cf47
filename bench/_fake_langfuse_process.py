"""Runs FakeLangfuse in its own process for the tracing benchmarks, so the server's
decoding does not share a GIL with the exporter being measured.

Prints the URL on the first line, then answers commands on stdin, one per line:
``add <public> <secret> <project>``, ``count``, ``cpu`` (seconds of CPU used), ``clear``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.langfuse_server import FakeLangfuse


def main() -> None:
    with FakeLangfuse(public_key=None) as server:
        print(server.url, flush=True)
        for line in sys.stdin:
            command, *args = line.split()
            if command == "add":
                server.add_project(args[0], args[1], project_id=args[2])
                print("ok", flush=True)
            elif command == "count":
                with server._lock:  # len() without copying every span dict
                    n = len(server._spans)
                print(n, flush=True)
            elif command == "cpu":
                print(time.process_time(), flush=True)
            elif command == "clear":
                server.clear()
                print("ok", flush=True)


if __name__ == "__main__":
    main()
