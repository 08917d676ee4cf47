"""Overhead of tracing on chat completions: tracing on vs off, through the real server.

``ragprism serve`` runs as a child process (SQLite in a temporary data directory) and the
Langfuse test server in another, so neither this client's nor the test server's CPU is
counted. Two tenants get the same dataset (a few small documents, parsed, so retrieval
embeds the question and searches) and the same assistant on the built-in models. One
tenant has no Langfuse configuration (tracing off); the other has one (enabled,
sample_rate 1: every completion is a traced ``ragflow-chat`` with five observations).
Halfway through, the roles swap (the configuration moves to the other tenant), so a
difference between the two tenants' data cannot pass for tracing overhead.

Completions are non-streamed ``POST /api/v1/chats/{id}/completions`` (a new session
each, as a RAGFlow client without ``session_id`` does). Two measures, each made in both
halves:

* latency: small blocks of 10 completions alternate on/off/off/on..., so load drift from
  other work on the machine cancels out. The export of a traced block's spans runs in the
  background and can overlap the next untraced block; that is at most half the export
  cost (~0.1 ms) moved from "on" to "off".
* CPU: blocks of 50 completions, each followed by the same pause, longer than
  ``RAGPRISM_TRACE_FLUSH_INTERVAL``, so the export of the block's spans (encoding, gzip,
  HTTP) falls inside the block's reading. CPU is the server process's user + system time
  (psutil), read before and after each block.

Prints p50/p95 latency per mode and their ratio (goal ≤ 1.05), the server CPU added per
request (goal ≤ 0.5 ms), and the spans the test server received (so "on" is really on).

The server's CPU difference is a small difference of two large, noisy numbers (an
untraced completion costs 15–20 ms of server CPU), so the same figure is also measured
exactly, in this process: the CPU that recording and exporting a completion's trace
costs (the same five observations and prompt-sized input; the test server in its own
process), as the request thread's CPU time and the whole process's CPU time once
everything was delivered (in blocks of 100 traces, each delivered before the next). That
in-process measure is made twice: as above, and with all five redactors on and a
20,000-character prompt (retrieved chunks of prose, JSON and code with a few addresses,
phone numbers and keys in them), where redaction dominates.
Run: ``.venv/bin/python bench/tracing_overhead.py`` (``--in-process`` runs only the
in-process measures).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import (
    MESSAGES,
    FakeLangfuseProcess,
    StaticSource,
    destination,
    record_completion_trace,
)
from _live_server import QUESTIONS, LiveServer, Tenant, percentile

from ragprism.tracing import ExportStatsRegistry, TracingEngine
from ragprism.tracing.masking import REDACTORS

LATENCY_ROUNDS = 14  # per half: each round one "on" and one "off" block, order alternating
LATENCY_BLOCK = 10
CPU_ROUNDS = 6  # per half
CPU_BLOCK = 40
WARMUP = 20
SETTLE = 0.8  # seconds after each CPU block: > flush interval (0.5 s) + one export
FACADE_TRACES = 3_000  # in-process measurement
FACADE_BLOCK = 100  # recorded, then delivered before the next block
SPANS_PER_TRACE = 5
PROMPT_CHARS = 20_000
_CHUNKS = (
    "Employees get 25 days of paid vacation per year; requests go to hr@example.com "
    "at least two weeks ahead. ",
    '{"ticket": 4711, "status": "open", "owner": "ops", "host": "10.20.30.40", '
    '"updated": "2026-11-27T10:28:00Z"}\n',
    "Call the service desk on +49 30 1234567 or (415) 555-0100 between 9:00 and 17:00. ",
    "def connect(url, timeout=5.0):\n    client = Client(url, api_key=os.environ['KEY'])\n"
    "    return client.get('/v1/items?page=2&size=50')\n",
    "The 2025 report (version 1.2.3, section 4.5) lists 1,234 incidents, 17% fewer than "
    "2024; see fe80::1ff:fe23:4567:890a for the lab router. ",
)


def long_prompt() -> list[dict[str, str]]:
    """A RAG prompt of ``PROMPT_CHARS`` characters: chunks of prose, JSON and code."""
    text, i = "You are an intelligent assistant. Knowledge base:\n", 0
    while len(text) < PROMPT_CHARS:
        text += _CHUNKS[i % len(_CHUNKS)]
        i += 1
    return [{"role": "system", "content": text[:PROMPT_CHARS]}, {"role": "user", "content": "q?"}]


def run_block(
    tenant: Tenant, traced: bool, size: int, offset: int, answers: list[int]
) -> list[float]:
    """``size`` completions; their latencies. Checks that "on" answers carry a trace id."""
    latencies: list[float] = []
    for i in range(size):
        elapsed, answer = tenant.ask(QUESTIONS[(offset + i) % len(QUESTIONS)])
        if bool(answer.get("trace_id")) != traced:
            raise RuntimeError(f"trace_id {answer.get('trace_id')!r}, expected traced={traced}")
        answers[traced] += 1
        latencies.append(elapsed)
    return latencies


def facade_cpu(
    langfuse: FakeLangfuseProcess,
    redact: tuple[str, ...] = (),
    messages: list[dict[str, str]] = MESSAGES,
) -> None:
    """CPU per traced completion, in-process: recording (request thread) and in all."""
    dest = destination(langfuse, redact=redact)
    with tempfile.TemporaryDirectory() as tmp:
        engine = TracingEngine(
            source=StaticSource([dest]), stats=ExportStatsRegistry(),
            spool_path=Path(tmp) / "spool.db", flush_interval=0.5,
        )  # fmt: skip
        engine.start()
        try:
            before = langfuse.count()
            for _ in range(200):  # warm-up
                record_completion_trace(engine, dest, messages)
            langfuse.wait_for(before + 200 * SPANS_PER_TRACE, timeout=30)
            before = langfuse.count()
            process, recording = time.process_time(), 0.0
            # In blocks, each delivered before the next: a tight loop outruns the export of
            # 20,000-character spans and fills the tenant's memory budget (spans dropped,
            # counted), and the export of every span must be in the figure.
            for block in range(FACADE_TRACES // FACADE_BLOCK):
                thread = time.thread_time()
                for _ in range(FACADE_BLOCK):
                    record_completion_trace(engine, dest, messages)
                recording += time.thread_time() - thread
                wanted = before + (block + 1) * FACADE_BLOCK * SPANS_PER_TRACE
                delivered = langfuse.wait_for(wanted, timeout=60)
            recording /= FACADE_TRACES
            total = (time.process_time() - process) / FACADE_TRACES
            dropped = engine.health(dest.tenant_id)["dropped"]
        finally:
            engine.shutdown(5)
    prompt = len(messages[0]["content"])
    redactors = ", ".join(redact) or "none"
    print(f"in-process, {FACADE_TRACES} completion traces of {SPANS_PER_TRACE} spans, "
          f"{prompt:,}-character prompt, redactors: {redactors} "
          f"({delivered - before} spans delivered, {dropped} dropped): CPU per traced completion "
          f"{recording * 1e3:.3f} ms recording on the request thread, {total * 1e3:.3f} ms "
          f"including encoding, gzip and HTTP export  [goal ≤ 0.5 ms]")  # fmt: skip


def in_process(langfuse: FakeLangfuseProcess) -> None:
    facade_cpu(langfuse)
    facade_cpu(langfuse, REDACTORS, long_prompt())


def main() -> None:
    if "--in-process" in sys.argv[1:]:
        langfuse = FakeLangfuseProcess()
        try:
            in_process(langfuse)
        finally:
            langfuse.close()
        return
    load = os.getloadavg()
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    langfuse = FakeLangfuseProcess()
    server = LiveServer()
    tenants: list[Tenant] = []
    lat: dict[bool, list[float]] = {True: [], False: []}
    cpu_lat: dict[bool, list[float]] = {True: [], False: []}  # latencies of the CPU blocks
    cpu_during: dict[bool, float] = {True: 0.0, False: 0.0}
    cpu_total: dict[bool, float] = {True: 0.0, False: 0.0}
    round_ratios: list[float] = []
    cpu_diffs: list[float] = []  # per CPU round: (on - off) ms per request, incl. export
    answers = [0, 0]  # untraced, traced
    try:
        tenants = [Tenant(server, "a"), Tenant(server, "b")]
        keys = []
        for tenant in tenants:
            tenant.build_chat()
            public, secret = f"pk-{uuid.uuid4().hex}", f"sk-{uuid.uuid4().hex}"
            project = uuid.uuid4().hex[:12]
            langfuse.add_project(public, secret, project)
            keys.append((public, secret, project))
        expected = {project: 0 for _, _, project in keys}
        spans_per_trace = 0
        for half in (0, 1):
            on, off = tenants[half], tenants[1 - half]
            public, secret, project = keys[half]
            if half == 1:
                tenants[0].delete_langfuse()
            on.set_langfuse(langfuse.url, public, secret, enabled=True)
            before = answers[True]
            for tenant in (on, off):  # warm-up, not measured
                run_block(tenant, tenant is on, WARMUP, 0, answers)
            for r in range(LATENCY_ROUNDS):
                p50s = {}
                for traced in (True, False) if r % 2 == 0 else (False, True):
                    block = run_block(on if traced else off, traced, LATENCY_BLOCK, r, answers)
                    lat[traced] += block
                    p50s[traced] = statistics.median(block)
                round_ratios.append(p50s[True] / p50s[False])
            time.sleep(SETTLE)
            for r in range(CPU_ROUNDS):
                used = {}
                for traced in (True, False) if r % 2 == 0 else (False, True):
                    cpu = server.cpu()
                    block = run_block(on if traced else off, traced, CPU_BLOCK, r, answers)
                    cpu_during[traced] += server.cpu() - cpu
                    time.sleep(SETTLE)
                    used[traced] = server.cpu() - cpu
                    cpu_total[traced] += used[traced]
                    cpu_lat[traced] += block
                cpu_diffs.append((used[True] - used[False]) / CPU_BLOCK * 1e3)
            expected[project] += answers[True] - before
            # Every span of this half delivered before the configuration moves on.
            deadline = time.monotonic() + 30
            if spans_per_trace == 0:
                while langfuse.count(project) % expected[project] and time.monotonic() < deadline:
                    time.sleep(0.1)
                spans_per_trace = langfuse.count(project) // expected[project]
            want = expected[project] * spans_per_trace
            while langfuse.count(project) < want and time.monotonic() < deadline:
                time.sleep(0.1)
        status = tenants[1].langfuse_status()["status"]["exporter"]
        received = {project: langfuse.count(project) for project in expected}
        threads = server.threads()
        server.close()
        in_process(langfuse)
    finally:
        for tenant in tenants:
            tenant.close()
        server.close()
        langfuse.close()

    n = len(lat[True])
    n_cpu = len(cpu_lat[True])
    print(f"\nlatency: {n} traced + {n} untraced completions (non-streamed, new session each), "
          f"{len(round_ratios)} interleaved rounds of {LATENCY_BLOCK}; "
          f"CPU: {n_cpu} + {n_cpu} in blocks of {CPU_BLOCK}; "
          f"server threads: {threads}")  # fmt: skip
    print(f"{'':14}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'CPU ms/req':>12}"
          f"{'CPU ms/req incl. export':>25}{'CPU blocks p50 ms':>19}")  # fmt: skip
    for traced in (False, True):
        values = lat[traced]
        print(
            f"{'tracing ' + ('on' if traced else 'off'):14}{percentile(values, 50) * 1e3:>9.2f}"
            f"{percentile(values, 95) * 1e3:>9.2f}{statistics.fmean(values) * 1e3:>9.2f}"
            f"{cpu_during[traced] / n_cpu * 1e3:>12.2f}{cpu_total[traced] / n_cpu * 1e3:>25.2f}"
            f"{percentile(cpu_lat[traced], 50) * 1e3:>19.2f}"
        )
    p50 = percentile(lat[True], 50) / percentile(lat[False], 50)
    p95 = percentile(lat[True], 95) / percentile(lat[False], 95)
    mean = statistics.fmean(lat[True]) / statistics.fmean(lat[False])
    cpu_p50 = percentile(cpu_lat[True], 50) / percentile(cpu_lat[False], 50)
    print(f"ratio on/off: p50 {p50:.3f}, p95 {p95:.3f}, mean {mean:.3f}; median of the "
          f"{len(round_ratios)} per-round p50 ratios {statistics.median(round_ratios):.3f} "
          f"(range {min(round_ratios):.3f}–{max(round_ratios):.3f}); "
          f"CPU blocks p50 {cpu_p50:.3f}  [goal ≤ 1.05]")  # fmt: skip
    added = (cpu_during[True] - cpu_during[False]) / n_cpu * 1e3
    added_total = (cpu_total[True] - cpu_total[False]) / n_cpu * 1e3
    stderr = statistics.stdev(cpu_diffs) / len(cpu_diffs) ** 0.5
    print(f"server CPU added per traced request: {added:.3f} ms during the requests, "
          f"{added_total:.3f} ms including the export (± {stderr:.3f} ms standard error over "
          f"{len(cpu_diffs)} paired rounds)  [goal ≤ 0.5 ms]")  # fmt: skip
    total_expected = sum(expected.values())
    print(f"spans at the test server: {sum(received.values())} (expected {total_expected} traces "
          f"× {spans_per_trace} spans = {total_expected * spans_per_trace}); "
          f"second traced tenant's exporter: exported {status['exported']}, "
          f"dropped {status['dropped']}, retried {status['retried']}")  # fmt: skip
    load = os.getloadavg()
    print(f"load average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
