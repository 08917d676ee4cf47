"""Threads and memory with 1 tenant vs 1,000 tenants tracing at once through the engine.

Each scenario runs in a fresh child process: the same load (15,000 traces of 3 spans,
1,500 traces/s from 8 request threads) goes to one tenant, or round-robin to 1,000 tenants,
each with its own Langfuse project on the test server (in another process). Prints the
process's threads (peak, and the engine's own) and RSS (peak) for both, and the difference.
Run: ``.venv/bin/python bench/tracing_scale.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from _common import FakeLangfuseProcess, StaticSource, destination

from ragprism.tracing import ExportStatsRegistry, TracingEngine

TRACES = 15_000
RATE = 1_500  # traces per second, all request threads together
REQUEST_THREADS = 8


def scenario(tenants: int) -> dict[str, float]:
    server = FakeLangfuseProcess()
    process = psutil.Process()
    try:
        dests = [destination(server) for _ in range(tenants)]
        with tempfile.TemporaryDirectory() as tmp:
            engine = TracingEngine(
                source=StaticSource(dests), stats=ExportStatsRegistry(),
                spool_path=Path(tmp) / "spool.db",
            )  # fmt: skip
            engine.start()
            rss_start = process.memory_info().rss
            peak = {"threads": process.num_threads(), "rss": rss_start}
            done = threading.Event()

            def monitor() -> None:
                while not done.is_set():
                    peak["threads"] = max(peak["threads"], process.num_threads())
                    peak["rss"] = max(peak["rss"], process.memory_info().rss)
                    time.sleep(0.02)

            def requests(offset: int) -> None:
                began = time.perf_counter()
                for n, i in enumerate(range(offset, TRACES, REQUEST_THREADS)):
                    lag = began + n * REQUEST_THREADS / RATE - time.perf_counter()
                    if lag > 0:
                        time.sleep(lag)
                    dest = dests[i % tenants]
                    with engine.tracer.trace(
                        "chat", tenant_id=dest.tenant_id, input="q" * 200
                    ) as t:
                        with t.observation("retrieval", kind="retriever", input="q" * 200):
                            pass
                        with t.observation("chat", kind="generation", model="m") as g:
                            g.update(output="a" * 400, usage={"input": 10, "output": 20})

            watcher = threading.Thread(target=monitor)
            watcher.start()
            started = time.perf_counter()
            workers = [threading.Thread(target=requests, args=(k,)) for k in range(REQUEST_THREADS)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            delivered = engine.flush(120.0)
            elapsed = time.perf_counter() - started
            engine_threads = len(engine.thread_names())
            received = server.wait_for(TRACES * 3, 30)
            done.set()
            watcher.join()
            engine.shutdown()
    finally:
        server.close()
    return {
        "tenants": tenants, "peak_threads": peak["threads"], "engine_threads": engine_threads,
        "rss_start_mb": rss_start / 2**20, "peak_rss_mb": peak["rss"] / 2**20,
        "received": received, "delivered": delivered, "seconds": elapsed,
    }  # fmt: skip


def main() -> None:
    load = os.getloadavg()[0]
    print(
        f"load average before the run: {load:.2f} on {os.cpu_count()} CPUs "
        "(other work on the machine skews the figures)"
    )
    if len(sys.argv) > 1:
        print(json.dumps(scenario(int(sys.argv[1]))))
        return
    results = []
    for tenants in (1, 1000):
        out = subprocess.run(
            [sys.executable, __file__, str(tenants)], capture_output=True, text=True, check=True
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(
        f"load: {TRACES:,} traces x 3 spans at {RATE:,} traces/s from {REQUEST_THREADS} "
        "request threads"
    )
    print(f"{'tenants':>8}{'threads(peak)':>15}{'engine threads':>16}{'RSS start MB':>14}"
          f"{'RSS peak MB':>13}{'spans delivered':>17}{'seconds':>9}")  # fmt: skip
    for r in results:
        print(
            f"{r['tenants']:>8}{r['peak_threads']:>15}{r['engine_threads']:>16}"
            f"{r['rss_start_mb']:>14.1f}{r['peak_rss_mb']:>13.1f}{r['received']:>17,}"
            f"{r['seconds']:>9.1f}"
        )
    one, many = results
    print(
        f"difference 1,000 vs 1 tenant: threads {many['peak_threads'] - one['peak_threads']:+d}, "
        f"engine threads {many['engine_threads'] - one['engine_threads']:+d}, "
        f"peak RSS {many['peak_rss_mb'] - one['peak_rss_mb']:+.1f} MB"
    )


if __name__ == "__main__":
    main()
