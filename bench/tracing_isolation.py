"""Isolation: tenant A's Langfuse healthy vs hanging vs answering 503, through the real server.

``ragprism serve`` runs as a child process (SQLite in a temporary data directory). Tenant A
and tenant B each have a dataset of a few small parsed documents, an assistant on the
built-in models, and their own Langfuse project on their own Langfuse test server (two
child processes), sample_rate 1. Only A's server misbehaves, in windows of WINDOW
seconds, cycling healthy → hang → healthy → 503 → ...:

* hang: every request to A's Langfuse (OTLP, projects, ...) is held without an answer
  until the window ends (the server's export timeout, 5 s, applies);
* 503: every request is answered ``503 Service Unavailable`` (no Retry-After).

The order of the windows alternates (healthy, hang, healthy, 503, then healthy, 503,
healthy, hang) so that a fault is not always at the same place in a cycle. Meanwhile A
asks non-streamed completions back to back, alternating request by request with A2, a
twin of A (same documents and assistant) whose Langfuse stays healthy; and a thread asks
B's completions at a steady RATE_B per second. The spans that reach B's Langfuse during
each window give B's export rate.

Prints, per mode: A's p50/p99 and their ratio to the healthy windows (goal ≤ 1.05); A's
p50/p99 relative to A2's in the same windows, divided by the same relation in the healthy
windows (a side-by-side ratio that cancels load drift from other work on the machine);
and B's delivered spans/s vs the healthy windows, with B's backlog at the end of each
window (spans of finished completions not yet delivered, in seconds of B's production).
Run: ``.venv/bin/python bench/tracing_isolation.py``.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid

from _common import FakeLangfuseProcess
from _live_server import QUESTIONS, LiveServer, Tenant, percentile

WINDOW = 4.0  # seconds per mode window
CYCLES = 4  # healthy, hang, healthy, 503 / healthy, 503, healthy, hang
RATE_B = 10.0  # tenant B's completions per second
MODES = ("healthy", "hang", "503")


def connect(tenant: Tenant, langfuse: FakeLangfuseProcess) -> str:
    public, secret, project = f"pk-{uuid.uuid4().hex}", f"sk-{uuid.uuid4().hex}", uuid.uuid4().hex
    langfuse.add_project(public, secret, project[:12])
    tenant.set_langfuse(langfuse.url, public, secret, enabled=True)
    return project[:12]


class SteadyLoad(threading.Thread):
    """Tenant B's completions at RATE_B per second (missed slots are skipped, not bunched)."""

    def __init__(self, tenant: Tenant) -> None:
        super().__init__(daemon=True)
        self.tenant = tenant
        self.stop = threading.Event()
        self.done: list[tuple[float, float]] = []  # (finished at, latency)
        self.errors = 0

    def run(self) -> None:
        period, slot = 1 / RATE_B, time.monotonic()
        n = 0
        while not self.stop.is_set():
            try:
                elapsed, answer = self.tenant.ask(QUESTIONS[n % len(QUESTIONS)])
                if not answer.get("trace_id"):
                    raise RuntimeError("tenant B's answer is not traced")
                self.done.append((time.monotonic(), elapsed))
            except Exception:  # counted, the benchmark goes on
                self.errors += 1
            n += 1
            slot += period
            now = time.monotonic()
            if slot < now:
                slot = now
            self.stop.wait(slot - now)


def main() -> None:
    load = os.getloadavg()
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    langfuse_a, langfuse_b = FakeLangfuseProcess(), FakeLangfuseProcess()
    server = LiveServer()
    tenants: list[Tenant] = []
    a_lat: dict[str, list[float]] = {mode: [] for mode in MODES}
    twin_lat: dict[str, list[float]] = {mode: [] for mode in MODES}
    b_rate: dict[str, list[float]] = {mode: [] for mode in MODES}
    b_made: dict[str, list[float]] = {mode: [] for mode in MODES}
    b_lat: dict[str, list[float]] = {mode: [] for mode in MODES}
    b_lag: dict[str, list[float]] = {mode: [] for mode in MODES}  # seconds of B not delivered
    hung_max = 0
    load_b: SteadyLoad | None = None
    try:
        a, twin, b = Tenant(server, "a"), Tenant(server, "a2"), Tenant(server, "b")
        tenants = [a, twin, b]
        for tenant in tenants:
            tenant.build_chat()
        project_a, project_b = connect(a, langfuse_a), connect(b, langfuse_b)
        connect(twin, langfuse_b)
        for i in range(20):  # warm-up
            a.ask(QUESTIONS[i % len(QUESTIONS)])
            twin.ask(QUESTIONS[i % len(QUESTIONS)])
        load_b = SteadyLoad(b)
        load_b.start()
        time.sleep(1.0)
        cycles = [("healthy", "hang", "healthy", "503"), ("healthy", "503", "healthy", "hang")]
        schedule = [mode for c in range(CYCLES) for mode in cycles[c % 2]]
        for mode in schedule:
            if mode == "hang":
                langfuse_a.hang()
            elif mode == "503":
                langfuse_a.status(503)
            b_spans, b_done = langfuse_b.count(project_b), len(load_b.done)
            start = time.monotonic()
            n = 0
            while (now := time.monotonic()) - start < WINDOW:
                for tenant, latencies in ((a, a_lat), (twin, twin_lat))[:: 1 - 2 * (n % 2)]:
                    elapsed, answer = tenant.ask(QUESTIONS[n % len(QUESTIONS)])
                    if not answer.get("trace_id"):
                        raise RuntimeError("tenant A's answer is not traced")
                    latencies[mode].append(elapsed)
                n += 1
            seconds = now - start
            delivered = langfuse_b.count(project_b)
            b_rate[mode].append((delivered - b_spans) / seconds)
            # B's backlog at the window's end: spans of its finished completions not yet at
            # its Langfuse, in seconds of B's production (~the flush interval when healthy).
            b_lag[mode].append((len(load_b.done) * 5 - delivered) / (5 * RATE_B))
            finished = load_b.done[b_done:]
            b_made[mode].append(len(finished) / seconds)
            b_lat[mode] += [latency for _, latency in finished]
            if mode == "hang":
                hung_max = max(hung_max, langfuse_a.hanging())
            langfuse_a.clear_faults()
        load_b.stop.set()
        load_b.join()
        # B: everything it produced must arrive; A: what its exporter recovers meanwhile.
        b_expected = len(load_b.done) * 5
        deadline = time.monotonic() + 15
        while langfuse_b.count(project_b) < b_expected and time.monotonic() < deadline:
            time.sleep(0.1)
        status_a = a.langfuse_status()["status"]["exporter"]
        status_b = b.langfuse_status()["status"]["exporter"]
        b_received = langfuse_b.count(project_b)
        a_received = langfuse_a.count(project_a)
        threads = server.threads()
    finally:
        if load_b is not None:
            load_b.stop.set()
            load_b.join()
        for tenant in tenants:
            tenant.close()
        server.close()
        langfuse_a.close()
        langfuse_b.close()

    print(f"\n{len(schedule)} windows of {WINDOW:.0f} s for tenant A's Langfuse; tenant B at "
          f"{RATE_B:.0f} completions/s on a healthy Langfuse; server threads at the end: "
          f"{threads}")  # fmt: skip
    print(f"{'A Langfuse':12}{'A n':>6}{'A p50 ms':>10}{'A p99 ms':>10}{'p50 ratio':>11}"
          f"{'p99 ratio':>11}{'p50 vs A2':>11}{'p99 vs A2':>11}{'B spans/s':>11}{'B ratio':>9}"
          f"{'B done/s':>10}{'B p50 ms':>10}{'B lag s':>9}")  # fmt: skip
    base = a_lat["healthy"]
    base_rate = statistics.fmean(b_rate["healthy"])

    def side_by_side(mode: str, q: float) -> float:
        relation = percentile(a_lat[mode], q) / percentile(twin_lat[mode], q)
        return relation / (percentile(base, q) / percentile(twin_lat["healthy"], q))

    for mode in MODES:
        values = a_lat[mode]
        rate = statistics.fmean(b_rate[mode])
        print(
            f"{mode:12}{len(values):>6}{percentile(values, 50) * 1e3:>10.2f}"
            f"{percentile(values, 99) * 1e3:>10.2f}"
            f"{percentile(values, 50) / percentile(base, 50):>11.3f}"
            f"{percentile(values, 99) / percentile(base, 99):>11.3f}"
            f"{side_by_side(mode, 50):>11.3f}{side_by_side(mode, 99):>11.3f}"
            f"{rate:>11.1f}{rate / base_rate:>9.3f}{statistics.fmean(b_made[mode]):>10.2f}"
            f"{percentile(b_lat[mode], 50) * 1e3:>10.2f}{statistics.fmean(b_lag[mode]):>9.2f}"
        )
    twin_all = [v for mode in MODES for v in twin_lat[mode]]
    print(f"A2 (twin, healthy Langfuse) overall: p50 {percentile(twin_all, 50) * 1e3:.2f} ms, "
          f"p99 {percentile(twin_all, 99) * 1e3:.2f} ms")  # fmt: skip
    print("goal: A's ratios ≤ 1.05; B's export rate unchanged (ratio ≈ 1)")
    print(f"requests held by the hang at the end of a window (max): {hung_max}")
    print(f"tenant B: {b_received} spans received of {b_expected} produced "
          f"({len(load_b.done) if load_b else 0} traces, {load_b.errors if load_b else 0} "
          f"failed requests); exporter dropped {status_b['dropped']}, retried "
          f"{status_b['retried']}, spooled {status_b['spooled']}")  # fmt: skip
    print(f"tenant A after the faults: {a_received} spans received so far; exporter retried "
          f"{status_a['retried']}, spooled {status_a['spooled']}, dropped {status_a['dropped']}, "
          f"pending {status_a['pending']}, spool {status_a['spool']}, "
          f"last error {status_a['last_error']!r}")  # fmt: skip
    load = os.getloadavg()
    print(f"load average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
