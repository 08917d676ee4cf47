"""RAGFlow's per-request Langfuse pattern side by side with ragprism's, same slow Langfuse.

RAGFlow, on every chat request of a tenant with Langfuse keys, constructs a
``langfuse.Langfuse(public_key, secret_key, host)`` client and calls its blocking
``auth_check()`` (``GET /api/public/projects``) before answering, then records the chat
generation through that client. Here that pattern ("per-request client") runs in this
process with the installed ``langfuse`` package, against the Langfuse test server (in a
child process) with LATENCY of injected latency on every endpoint. Side by side, in
alternating blocks: ragprism's path — the tracer facade of a ``TracingEngine`` recording a
``ragflow-chat`` trace with the observations of a completion (retrieval → embed-query,
search; chat generation with the prompt messages, usage) — against the same server.

Then the same with TENANTS distinct tenants (one key pair each), one request each: the
threads and RSS each pattern adds, and where the spans land (the SDK's clients share one
global tracer provider, so a span may be exported to every tenant's project). Last, whole
completions through the real server (``ragprism serve``) with that slow Langfuse: traced
vs untraced, alternating. Run: ``.venv/bin/python bench/ragflow_pattern.py``.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from _common import ANSWER, MESSAGES, FakeLangfuseProcess, StaticSource, destination
from _common import record_completion_trace as ragprism_request
from _live_server import QUESTIONS, LiveServer, Tenant, percentile
from langfuse import Langfuse
from opentelemetry import trace as otel_trace

from ragprism.tracing import ExportStatsRegistry, TracingEngine

LATENCY = 0.020  # seconds added by the test server to every request
ROUNDS = 10
PER_BLOCK = 10
TENANTS = 50
COMPLETION_PAIRS = 60


STEPS: dict[str, list[float]] = {"Langfuse()": [], "auth_check()": [], "generation": []}


def ragflow_request(public: str, secret: str, host: str, clients: dict[str, Langfuse]) -> None:
    """What RAGFlow does per chat request (client, auth_check, one generation)."""
    t0 = time.perf_counter()
    client = Langfuse(public_key=public, secret_key=secret, host=host)
    t1 = time.perf_counter()
    if not client.auth_check():
        raise RuntimeError("auth_check failed")
    t2 = time.perf_counter()
    clients[public] = client
    generation = client.start_observation(
        name="chat", as_type="generation", model="builtin-extractive", input=MESSAGES
    )
    generation.update(output=ANSWER, usage_details={"input": 500, "output": 60})
    generation.end()
    for name, seconds in zip(STEPS, (t1 - t0, t2 - t1, time.perf_counter() - t2), strict=True):
        STEPS[name].append(seconds)


def timed(work: Callable[..., None], *args: Any) -> float:
    started = time.perf_counter()
    work(*args)
    return time.perf_counter() - started


def footprint(process: psutil.Process) -> tuple[int, float]:
    return process.num_threads(), process.memory_info().rss / 2**20


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1e3:.2f}"


def completions(langfuse: FakeLangfuseProcess, server: LiveServer) -> None:
    """Whole completions through the real server, tenant traced vs untraced, alternating."""
    traced, plain = Tenant(server, "traced"), Tenant(server, "plain")
    try:
        for tenant in (traced, plain):
            tenant.build_chat()
        dest = destination(langfuse)
        traced.set_langfuse(langfuse.url, dest.public_key, dest.secret_key, enabled=True)
        lat: dict[bool, list[float]] = {True: [], False: []}
        for i in range(10):  # warm-up
            traced.ask(QUESTIONS[i % len(QUESTIONS)])
            plain.ask(QUESTIONS[i % len(QUESTIONS)])
        for i in range(COMPLETION_PAIRS):
            for tenant in (traced, plain) if i % 2 == 0 else (plain, traced):
                elapsed, answer = tenant.ask(QUESTIONS[i % len(QUESTIONS)])
                if bool(answer.get("trace_id")) != (tenant is traced):
                    raise RuntimeError("unexpected trace_id presence")
                lat[tenant is traced].append(elapsed)
        expected = 5 * (COMPLETION_PAIRS + 10)
        deadline = time.monotonic() + 15
        while (received := langfuse.count(dest.project_id)) < expected:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        traced.close()
        plain.close()
    print(f"\nwhole completions through `ragprism serve`, Langfuse answering in "
          f"+{LATENCY * 1e3:.0f} ms, {COMPLETION_PAIRS} alternating pairs:")  # fmt: skip
    for key, name in ((False, "untraced"), (True, "traced")):
        print(f"  {name:9} p50 {ms(lat[key], 50)} ms, p95 {ms(lat[key], 95)} ms")
    ratio = percentile(lat[True], 50) / percentile(lat[False], 50)
    print(f"  ratio traced/untraced p50 {ratio:.3f}; spans received {received} "
          f"(expected {expected})")  # fmt: skip


def main() -> None:
    logging.getLogger("langfuse").setLevel(logging.ERROR)
    load = os.getloadavg()
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} CPUs")  # fmt: skip
    process = psutil.Process()
    langfuse = FakeLangfuseProcess()
    clients: dict[str, Langfuse] = {}
    engine: TracingEngine | None = None
    tmp = tempfile.TemporaryDirectory()
    result: dict[str, Any] = {}
    try:
        langfuse.latency(LATENCY)
        dests = [destination(langfuse) for _ in range(TENANTS + 1)]
        start = footprint(process)
        engine = TracingEngine(
            source=StaticSource(dests), stats=ExportStatsRegistry(),
            spool_path=Path(tmp.name) / "spool.db",
        )  # fmt: skip
        engine.start()
        dest = dests[0]
        ragprism_request(engine, dest)
        after_engine = footprint(process)
        first = timed(ragflow_request, dest.public_key, dest.secret_key, dest.host, clients)
        after_first = footprint(process)
        lat: dict[str, list[float]] = {"ragflow": [], "ragprism": []}
        for r in range(ROUNDS):
            order = ("ragflow", "ragprism") if r % 2 == 0 else ("ragprism", "ragflow")
            for name in order:
                for _ in range(PER_BLOCK):
                    if name == "ragflow":
                        args = (dest.public_key, dest.secret_key, dest.host, clients)
                        lat[name].append(timed(ragflow_request, *args))
                    else:
                        lat[name].append(timed(ragprism_request, engine, dest))
        one_tenant = footprint(process)
        # One request for each of TENANTS more tenants, each pattern.
        tenant_lat: dict[str, list[float]] = {"ragflow": [], "ragprism": []}
        before = footprint(process)
        for d in dests[1:]:
            tenant_lat["ragprism"].append(timed(ragprism_request, engine, d))
        after_ragprism = footprint(process)
        for d in dests[1:]:
            tenant_lat["ragflow"].append(
                timed(ragflow_request, d.public_key, d.secret_key, d.host, clients)
            )
        after_ragflow = footprint(process)
        result = {
            "start": start, "after_engine": after_engine, "after_first": after_first,
            "one_tenant": one_tenant, "before": before, "after_ragprism": after_ragprism,
            "after_ragflow": after_ragflow, "first": first, "lat": lat,
            "tenant_lat": tenant_lat,
        }  # fmt: skip
        # Deliver everything, then count where the spans landed.
        engine.flush(30)
        started = time.perf_counter()
        for client in clients.values():
            client.flush()
        result["sdk_flush"] = time.perf_counter() - started
        per_project = {d.project_id: langfuse.count(d.project_id) for d in dests}
        result["per_project"] = per_project
    finally:
        started = time.perf_counter()
        for client in clients.values():
            client.shutdown()
        provider = otel_trace.get_tracer_provider()
        shutdown = getattr(provider, "shutdown", None)
        if shutdown is not None:
            shutdown()  # the SDK's global provider: its export threads end here
        result["sdk_shutdown"] = time.perf_counter() - started
        result["threads_left"] = process.num_threads() - start[0]
        for client in clients.values():
            # shutdown() leaves each client's prompt-cache refresh thread (a daemon, stopped
            # at exit); stop them now so that nothing runs while the server is measured.
            resources = getattr(client, "_resources", None)
            cache = getattr(resources, "prompt_cache", None)
            manager = getattr(cache, "_task_manager", None)
            if manager is not None:
                manager.shutdown()
        if engine is not None:
            engine.shutdown()
        tmp.cleanup()
    result["threads_end"] = process.num_threads() - start[0]
    try:
        report(result)
        server = LiveServer()
        try:
            completions(langfuse, server)
        finally:
            server.close()
    finally:
        langfuse.close()
    load = os.getloadavg()
    print(f"load average after the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def report(result: dict[str, Any]) -> None:
    lat, tenant_lat = result["lat"], result["tenant_lat"]
    print(f"\nLangfuse test server with +{LATENCY * 1e3:.0f} ms on every request; "
          f"{ROUNDS * PER_BLOCK} requests per pattern for one tenant, alternating blocks of "
          f"{PER_BLOCK}")  # fmt: skip
    print(f"{'per request (1 tenant)':44}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    rows = (
        ("RAGFlow: Langfuse() + auth_check() + generation", lat["ragflow"]),
        ("ragprism: tracer facade, 5-observation trace", lat["ragprism"]),
    )
    for name, values in rows:
        print(f"{name:44}{ms(values, 50):>9}{ms(values, 95):>9}{max(values) * 1e3:>9.2f}")
    steps = ", ".join(f"{name} {ms(values[1:], 50)}" for name, values in STEPS.items())
    print(f"  RAGFlow pattern's steps, p50 ms: {steps}")
    ratio = percentile(lat["ragflow"], 50) / percentile(lat["ragprism"], 50)
    print(f"RAGFlow pattern / ragprism, p50: {ratio:.0f}x; the very first RAGFlow-pattern "
          f"request (client creation): {result['first'] * 1e3:.1f} ms")  # fmt: skip
    print(f"\nfirst request of each of {TENANTS} new tenants: RAGFlow pattern p50 "
          f"{ms(tenant_lat['ragflow'], 50)} ms, p95 {ms(tenant_lat['ragflow'], 95)} ms; "
          f"ragprism p50 {ms(tenant_lat['ragprism'], 50)} ms, "
          f"p95 {ms(tenant_lat['ragprism'], 95)} ms")  # fmt: skip
    start, engine, first = result["start"], result["after_engine"], result["after_first"]
    one, before = result["one_tenant"], result["before"]
    ours, theirs = result["after_ragprism"], result["after_ragflow"]
    print(f"{'threads / RSS of this process':44}{'threads':>9}{'RSS MB':>9}")
    for name, (threads, rss), (t0, r0) in (
        ("ragprism engine started (whole engine)", engine, start),
        ("first RAGFlow-pattern client", first, engine),
        (f"{ROUNDS * PER_BLOCK * 2} more requests, 1 tenant (both)", one, first),
        (f"ragprism: {TENANTS} more tenants", ours, before),
        (f"RAGFlow pattern: {TENANTS} more tenants", theirs, ours),
    ):
        print(f"{name:44}{threads - t0:>+9}{rss - r0:>+9.1f}")
    per_project = result["per_project"]
    counts = list(per_project.values())
    ours_expected = 5  # one trace of 5 spans per new tenant
    total_ragflow = sum(counts) - ours_expected * TENANTS - 5 * (ROUNDS * PER_BLOCK + 1)
    print(f"\nspans at the test server per new-tenant project: min {min(counts[1:])}, max "
          f"{max(counts[1:])} (each new tenant made 1 ragprism trace of 5 spans and 1 RAGFlow "
          f"generation: 6 expected); RAGFlow-pattern spans delivered in all: {total_ragflow} "
          f"for {ROUNDS * PER_BLOCK + 1 + TENANTS} generations")  # fmt: skip
    print(f"SDK clients: flush {result['sdk_flush']:.1f} s, shutdown() + global provider "
          f"shutdown {result['sdk_shutdown']:.1f} s; threads left over the start: "
          f"{result['threads_left']:+} after shutdown(), {result['threads_end']:+} after "
          f"stopping the prompt-cache threads and the ragprism engine")  # fmt: skip


if __name__ == "__main__":
    main()
