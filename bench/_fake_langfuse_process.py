"""Runs FakeLangfuse in its own process for the tracing benchmarks, so the server's
decoding does not share a GIL with the exporter being measured.

Started by ``_common.FakeLangfuseProcess`` with ``--serve``: prints the URL on the first
line, then answers commands on stdin, one per line: ``add <public> <secret> <project>``,
``count [<project>]``, ``cpu`` (seconds of CPU used), ``clear``, and faults:
``latency <seconds> [<endpoint>]``, ``hang [<endpoint>]``, ``status <code> [<endpoint>]``,
``clear_faults``, ``hanging`` (requests held by a hang), ``requests [<endpoint>]``
(requests handled so far), ``span_ids`` (JSON: spans received, distinct span ids per
trace). ``<endpoint>`` is a name of ``ENDPOINTS`` (``otel``,
``projects``, ...); without it a fault applies to every endpoint.
Run directly (as ``make bench`` does with every ``bench/*.py``) it only prints this note.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.langfuse_server import FakeLangfuse


def _endpoint(args: list[str], index: int) -> str | None:
    return args[index] if len(args) > index else None


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
                    if args:
                        n = sum(1 for span in server._spans if span["project_id"] == args[0])
                    else:
                        n = len(server._spans)
                print(n, flush=True)
            elif command == "cpu":
                print(time.process_time(), flush=True)
            elif command == "clear":
                server.clear()
                print("ok", flush=True)
            elif command == "latency":
                server.latency(float(args[0]), endpoints=_endpoint(args, 1))
                print("ok", flush=True)
            elif command == "hang":
                server.hang(endpoints=_endpoint(args, 0))
                print("ok", flush=True)
            elif command == "status":
                server.status(int(args[0]), endpoints=_endpoint(args, 1))
                print("ok", flush=True)
            elif command == "clear_faults":
                server.clear_faults()
                print("ok", flush=True)
            elif command == "hanging":
                print(server.hanging, flush=True)
            elif command == "requests":
                print(server.request_count(_endpoint(args, 0)), flush=True)
            elif command == "span_ids":
                # Durability: {"spans": received, "traces": {trace id: distinct span ids}}.
                with server._lock:
                    pairs = [(span["trace_id"], span["span_id"]) for span in server._spans]
                per_trace: dict[str, set[str]] = {}
                for trace_id, span_id in pairs:
                    per_trace.setdefault(trace_id, set()).add(span_id)
                counts = {trace_id: len(ids) for trace_id, ids in per_trace.items()}
                print(json.dumps({"spans": len(pairs), "traces": counts}), flush=True)
            else:
                print(f"error: unknown command {command!r}", flush=True)


if __name__ == "__main__":
    if "--serve" in sys.argv[1:]:
        main()
    else:
        print("bench/_fake_langfuse_process.py: a helper of the benchmarks, nothing to run")
