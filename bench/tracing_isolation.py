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

Part 2 (``--faults``, run after part 1 by default): one healthy tenant beside K = 0, 1, 3,
10, 50 tenants whose Langfuse hangs (a test server holding every request), trickles its
answer (one byte per 50 ms, ``_trickle_process.py``) or whose host name resolves slowly
(a resolver hook that takes 20 s for those names; every tenant's host is a name the hook
resolves to 127.0.0.1). The engine runs in this process with its defaults (export timeout
5 s, flush interval 0.5 s, 2 workers); each window lasts FAULT_WINDOW s, longer than the
export timeout. The healthy tenant records RATE_HEALTHY completion traces per second (5
spans each) and every faulty tenant one per second. Prints, per fault and K, the healthy
tenant's delivery lag (trace ended → all its spans at its Langfuse; goal p99 ≤ flush
interval + 0.5 s) and the p50 of its request-thread recording time relative to K = 0
(goal ≤ 1.05).
Run: ``.venv/bin/python bench/tracing_isolation.py`` (``--faults`` for part 2 only).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from _common import ROOT, FakeLangfuseProcess, StaticSource, destination, record_completion_trace
from _live_server import QUESTIONS, LiveServer, Tenant, percentile

from ragprism.security.host_policy import HostPolicy
from ragprism.tracing import Destination, ExportStatsRegistry, TracingEngine

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


FAULT_WINDOW = 8.0  # seconds per (fault, K) window; the export timeout is 5 s
FAULT_KS = (0, 1, 3, 10, 50)
FAULTS = ("hang", "trickle", "slow-dns")
RATE_HEALTHY = 20.0  # the healthy tenant's completion traces per second
SLOW_LOOKUP = 20.0  # seconds a slow name takes to resolve


def _resolve(host: str, port: int) -> list[str]:
    """The benchmark's resolver: ``*.test`` names are loopback, ``slow-*`` ones slowly."""
    if host.startswith("slow-"):
        time.sleep(SLOW_LOOKUP)
    if host.endswith(".test"):
        host = "127.0.0.1"
    return HostPolicy().resolve(host, port)


def _named(dest: Destination, name: str) -> Destination:
    port = dest.host.rsplit(":", 1)[1]
    return Destination(
        tenant_id=dest.tenant_id, host=f"http://{name}:{port}", public_key=dest.public_key,
        secret_key=dest.secret_key, project_id=dest.project_id,
    )  # fmt: skip


def fault_window(
    fault: str, k: int, healthy_server: FakeLangfuseProcess, bad_server: FakeLangfuseProcess,
    trickle_url: str,
) -> tuple[list[float], list[float], dict[str, int]]:  # fmt: skip
    """One window: the healthy tenant's lags and recording times, and its counters."""
    healthy = _named(destination(healthy_server), "healthy-langfuse.test")
    bad: list[Destination] = []
    for i in range(k):
        dest = destination(bad_server)
        if fault == "trickle":
            dest = Destination(
                tenant_id=dest.tenant_id, host=trickle_url, public_key=dest.public_key,
                secret_key=dest.secret_key, project_id=dest.project_id,
            )  # fmt: skip
        elif fault == "slow-dns":
            dest = _named(dest, f"slow-{i}.test")
        else:
            dest = _named(dest, f"hung-{i}.test")
        bad.append(dest)
    with tempfile.TemporaryDirectory() as tmp:
        engine = TracingEngine(
            source=StaticSource([healthy, *bad]), stats=ExportStatsRegistry(),
            spool_path=Path(tmp) / "spool.db", resolve=_resolve,
        )  # fmt: skip
        engine.start()
        for _ in range(5):  # warm-up: the healthy host's name is resolved and connected
            record_completion_trace(engine, healthy)
        engine.flush(10.0)
        base = healthy_server.count(healthy.project_id)
        ended: list[float] = []
        recording: list[float] = []
        arrivals: list[tuple[float, int]] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                arrivals.append((time.monotonic(), healthy_server.count(healthy.project_id)))
                stop.wait(0.02)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        start = time.monotonic()
        period, n = 1 / RATE_HEALTHY, 0
        next_bad = start
        while (now := time.monotonic()) - start < FAULT_WINDOW:
            if now >= next_bad:
                for dest in bad:
                    record_completion_trace(engine, dest)
                next_bad += 1.0
            cpu = time.thread_time()
            record_completion_trace(engine, healthy)
            recording.append(time.thread_time() - cpu)
            ended.append(time.monotonic())
            n += 1
            time.sleep(max(0.0, start + n * period - time.monotonic()))
        deadline = time.monotonic() + 10.0
        while healthy_server.count(healthy.project_id) < base + 5 * n:
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        time.sleep(0.05)
        stop.set()
        poller.join()
        health = engine.health(healthy.tenant_id)
        engine.shutdown(deadline=1.0)
    lags: list[float] = []
    j = 0
    for i, t in enumerate(ended):
        need = base + 5 * (i + 1)
        while j < len(arrivals) and arrivals[j][1] < need:
            j += 1
        lags.append((arrivals[j][0] if j < len(arrivals) else float("inf")) - t)
    counters = {key: int(health[key]) for key in ("exported", "dropped", "spooled")}
    counters["traces"] = n
    return lags, recording, counters


def faults() -> None:
    load = os.getloadavg()
    print(f"\npart 2: a healthy tenant beside K faulty ones (load average {load[0]:.2f})")
    healthy_server, bad_server = FakeLangfuseProcess(), FakeLangfuseProcess()
    trickler = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "_trickle_process.py"), "--serve"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert trickler.stdout is not None
    assert trickler.stdin is not None
    trickle_url = trickler.stdout.readline().strip()
    bad_server.hang()
    print(f"{'fault':10}{'K':>4}{'traces':>8}{'lag p50 s':>11}{'lag p99 s':>11}{'lag max s':>11}"
          f"{'rec p50 µs':>12}{'ratio':>8}{'exported':>10}{'dropped':>9}")  # fmt: skip
    try:
        for fault in FAULTS:
            baseline = 0.0
            for k in FAULT_KS:
                lags, recording, counters = fault_window(
                    fault, k, healthy_server, bad_server, trickle_url
                )
                rec = percentile(recording, 50)
                baseline = baseline or rec
                print(
                    f"{fault:10}{k:>4}{counters['traces']:>8}{percentile(lags, 50):>11.3f}"
                    f"{percentile(lags, 99):>11.3f}{max(lags):>11.3f}{rec * 1e6:>12.1f}"
                    f"{rec / baseline:>8.3f}{counters['exported']:>10}{counters['dropped']:>9}",
                    flush=True,
                )
    finally:
        trickler.stdin.close()
        trickler.terminate()
        trickler.wait(5)
        bad_server.clear_faults()
        healthy_server.close()
        bad_server.close()
    print("goal: lag p99 ≤ 1.0 s (flush interval 0.5 s + 0.5 s) for every K; ratio ≤ 1.05")
    load = os.getloadavg()
    print(f"load average after part 2: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    if "--faults" not in sys.argv:
        main()
    faults()
