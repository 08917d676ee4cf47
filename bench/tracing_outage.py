"""A shared Langfuse outage: 1,000 tenants on one Langfuse that fails under steady load.

Every tenant has its own project on one test server (in another process, on loopback).
Request threads record completion-like traces (3 spans, ~2 KB of prompt and answer)
round-robin over the tenants at a steady rate: ``--warmup`` seconds of normal service,
then the server answers every OTLP request 503 for ``--outage`` seconds (default 60), then
it recovers and the load stops. The run ends when the engine has delivered everything
(spool included). Prints the process's RSS (baseline after start-up, peak during the
outage and after it) against the engine's memory budget, the engine's own peak byte count,
and, counted by span id at the server, how many spans arrived, how many twice, and how
many were dropped (by reason).

Run: ``.venv/bin/python bench/tracing_outage.py`` (``--outage 10`` for a quick run).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import psutil
from _common import FakeLangfuseProcess, StaticSource, destination

from ragprism.tracing import ExportStatsRegistry, TracingEngine

MiB = 1 << 20
ANSWER = "An answer that cites the context [ID:0]. " * 15  # ~0.6 KB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=300.0, help="traces per second")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before the outage")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds of outage")
    parser.add_argument("--budget-mb", type=int, default=64, help="RAGPRISM_TRACE_MEMORY_MAX_BYTES")
    parser.add_argument("--threads", type=int, default=4, help="request threads")
    parser.add_argument("--prompt-kb", type=float, default=1.3, help="prompt text per trace")
    args = parser.parse_args()
    prompt = "You are an assistant. Context: " + "retrieved chunk text " * int(
        args.prompt_kb * 1024 / 21
    )

    load = os.getloadavg()[0]
    print(
        f"load average before the run: {load:.2f} on {os.cpu_count()} CPUs "
        "(other work on the machine skews the figures)"
    )
    server = FakeLangfuseProcess()
    process = psutil.Process()
    stats = ExportStatsRegistry()
    try:
        dests = [destination(server) for _ in range(args.tenants)]
        with tempfile.TemporaryDirectory() as tmp:
            engine = TracingEngine(
                source=StaticSource(dests), stats=stats, spool_path=Path(tmp) / "spool.db",
                memory_bytes=args.budget_mb * MiB,
            )  # fmt: skip
            engine.start()
            # One trace per tenant first, so that every tenant's queue and state exist.
            for dest in dests:
                with engine.tracer.trace("warm", tenant_id=dest.tenant_id):
                    pass
            engine.flush(60.0)
            baseline = process.memory_info().rss
            peak = {"outage": baseline, "after": baseline, "engine": 0}
            phase = {"name": "warmup"}
            stop = threading.Event()

            def monitor() -> None:
                while not stop.is_set():
                    rss = process.memory_info().rss
                    key = "after" if phase["name"] == "after" else "outage"
                    peak[key] = max(peak[key], rss)
                    peak["engine"] = max(peak["engine"], engine.memory()["bytes"])
                    time.sleep(0.05)

            load_ends = time.monotonic() + args.warmup + args.outage

            def requests(offset: int) -> None:
                began = time.perf_counter()
                n = 0
                while time.monotonic() < load_ends:
                    lag = began + n * args.threads / args.rate - time.perf_counter()
                    if lag > 0:
                        time.sleep(lag)
                    dest = dests[(offset + n * args.threads) % len(dests)]
                    n += 1
                    with engine.tracer.trace("chat", tenant_id=dest.tenant_id, input="q?") as t:
                        with t.observation("retrieval", kind="retriever", input="q?") as r:
                            r.update(output={"chunks": ["c" * 32] * 4})
                        with t.observation("chat", kind="generation", model="m", input=prompt) as g:
                            g.update(output=ANSWER, usage={"input": 300, "output": 90})

            watcher = threading.Thread(target=monitor, daemon=True)
            watcher.start()
            threads = [threading.Thread(target=requests, args=(k,)) for k in range(args.threads)]
            for thread in threads:
                thread.start()
            time.sleep(args.warmup)
            phase["name"] = "outage"
            server.status(503, "otel")
            time.sleep(args.outage)
            server.clear_faults()
            phase["name"] = "after"
            recovered = time.monotonic()
            for thread in threads:
                thread.join()
            while not engine.flush(5.0) and time.monotonic() - recovered < 600:
                pass
            drained = time.monotonic() - recovered
            stop.set()
            watcher.join()
            figures = [stats.snapshot(d.tenant_id) for d in dests]
            spool = [engine.health(d.tenant_id)["spool"]["items"] for d in dests]
            engine.shutdown()
        received, traces = server.span_ids()
    finally:
        server.close()

    queued = sum(f["queued"] for f in figures)
    exported = sum(f["exported"] for f in figures)
    spooled = sum(f["spooled"] for f in figures)
    reasons: dict[str, int] = {}
    for f in figures:
        for reason, n in f["dropped_by_reason"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    distinct = sum(traces.values())
    print(
        f"{args.tenants:,} tenants on one Langfuse, {args.rate:g} traces/s x 3 spans "
        f"(~{(len(prompt) + len(ANSWER)) / 1024:.1f} KB of text a trace), {args.warmup:g} s "
        f"of service then {args.outage:g} s of 503s; memory budget {args.budget_mb} MiB"
    )
    print(
        f"RSS: baseline {baseline / MiB:.1f} MB, peak during the outage "
        f"{peak['outage'] / MiB:.1f} MB (+{(peak['outage'] - baseline) / MiB:.1f}), peak after "
        f"it {peak['after'] / MiB:.1f} MB (+{(peak['after'] - baseline) / MiB:.1f}); "
        f"within baseline + budget ({(baseline / MiB) + args.budget_mb:.1f} MB): "
        f"{max(peak['outage'], peak['after']) <= baseline + args.budget_mb * MiB}"
    )
    print(f"engine's own byte count: peak {peak['engine'] / MiB:.1f} MiB")
    print(
        f"spans recorded {queued:,}, spooled {spooled:,}, exported {exported:,}, dropped "
        f"{sum(reasons.values()):,} {reasons or ''}, left in the spool {sum(spool):,}; "
        f"drained {drained:.1f} s after recovery"
    )
    print(
        f"at the server: {received:,} spans received, {distinct:,} distinct span ids "
        f"({received - distinct:,} twice); every span not dropped arrived: "
        f"{distinct == queued - sum(reasons.values())}"
    )


if __name__ == "__main__":
    main()
