"""Export throughput: ragprism's engine vs the stock OTel BatchSpanProcessor+OTLPSpanExporter.

100k equivalent spans (10k traces of 10 spans, Langfuse attributes, ~300-char prompt-like
inputs/outputs that differ from span to span) go to the Langfuse test server running in a
child process. Two measures, each side by side:

* burst: spans are created and exported at once (the app's span creation shares the
  CPU and GIL with the exporter; stock: the SDK's ``Tracer.start_span``, ragprism: its
  tracer facade, which records spans without the SDK's span machinery);
* export only: the same spans, created beforehand, are handed to the processor (stock:
  ``BatchSpanProcessor.on_end``; ragprism: the tenant queue, as an ending span does) as
  fast as possible.

Prints delivered spans/s, CPU µs per span of this process, the server's own decode cost,
delivered and dropped counts, and the ratios. The stock processor is tuned as in the
spec: max_queue_size above the burst, schedule_delay_millis=100.
Run: ``.venv/bin/python bench/tracing_throughput.py``.
"""

from __future__ import annotations

import base64
import gc
import os
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import FakeLangfuseProcess, StaticSource, destination
from opentelemetry import trace as otel_trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from ragprism.tracing import Destination, ExportStatsRegistry, TracingEngine

SPANS = 100_000
PER_TRACE = 10
_rng = random.Random(7)
_VOCAB = [
    "".join(_rng.choice("etaoinshrdlucmfwypvbgkqjxz"[: _rng.randint(8, 26)]) for _ in range(n))
    for n in (_rng.randint(2, 9) for _ in range(3000))
]
_WEIGHTS = [1 / (rank + 1) for rank in range(len(_VOCAB))]  # Zipf-like, like prose


def text(chars: int = 300) -> str:
    words = _rng.choices(_VOCAB, _WEIGHTS, k=chars // 4)
    return " ".join(words)[:chars]


TEXTS = [text() for _ in range(4096)]


class Collect(SpanProcessor):
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)


def stock_attributes(tenant_id: str) -> dict[str, Any]:
    return {
        "langfuse.trace.name": "ragflow-chat",
        "langfuse.release": "0.1.0",
        "session.id": "session-123",
        "user.id": "user-123",
        "langfuse.trace.tags": ["assistant", "model"],
        "langfuse.trace.metadata.tenant_id": f'"{tenant_id}"',
        "langfuse.trace.metadata.server_version": '"0.1.0"',
    }


def create_stock(processor: SpanProcessor | None, tenant_id: str) -> None:
    provider = TracerProvider(resource=Resource({"service.name": "bench"}), shutdown_on_exit=False)
    if processor is not None:
        provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")
    base = stock_attributes(tenant_id)
    n = 0
    for _ in range(SPANS // PER_TRACE):
        root = tracer.start_span(
            "ragflow-chat",
            attributes={**base, "langfuse.observation.type": "span",
                        "langfuse.observation.input": TEXTS[n % 4096]},
        )  # fmt: skip
        context = otel_trace.set_span_in_context(root)
        for _ in range(PER_TRACE - 1):
            n += 1
            child = tracer.start_span(
                "step", context=context,
                attributes={**base, "langfuse.observation.type": "span",
                            "langfuse.observation.input": TEXTS[n % 4096]},
            )  # fmt: skip
            child.set_attribute("langfuse.observation.output", TEXTS[(n * 7) % 4096])
            child.end()
        root.set_attribute("langfuse.observation.output", TEXTS[(n * 3) % 4096])
        root.end()


def create_ragprism(engine: TracingEngine, dest: Destination) -> None:
    tracer = engine.tracer
    n = 0
    for _ in range(SPANS // PER_TRACE):
        with tracer.trace(
            "chat", tenant_id=dest.tenant_id, session_id="session-123", user_id="user-123",
            input=TEXTS[n % 4096], tags=["assistant", "model"],
        ) as trace:  # fmt: skip
            for _ in range(PER_TRACE - 1):
                n += 1
                with trace.observation("step", input=TEXTS[n % 4096]) as step:
                    step.update(output=TEXTS[(n * 7) % 4096])
            trace.update(output=TEXTS[(n * 3) % 4096])


def stock_processor(dest: Destination) -> BatchSpanProcessor:
    auth = base64.b64encode(f"{dest.public_key}:{dest.secret_key}".encode()).decode()
    exporter = OTLPSpanExporter(
        endpoint=dest.otlp_url, headers={"Authorization": f"Basic {auth}"},
        compression=Compression.Gzip, timeout=10,
    )  # fmt: skip
    return BatchSpanProcessor(
        exporter, max_queue_size=SPANS * 2, schedule_delay_millis=100, max_export_batch_size=512
    )


def measure(server: FakeLangfuseProcess, work: Callable[[], None]) -> dict[str, float]:
    gc.collect()
    server_cpu, cpu, start = server.cpu(), time.process_time(), time.perf_counter()
    work()
    received = server.wait_for(SPANS, 100)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"elapsed": elapsed, "cpu": cpu, "received": received,
            "server_cpu": server.cpu() - server_cpu}  # fmt: skip


def run_stock(server: FakeLangfuseProcess, *, burst: bool) -> dict[str, float]:
    dest = destination(server)
    processor = stock_processor(dest)
    if burst:
        result = measure(server, lambda: create_stock(processor, dest.tenant_id))
    else:
        collect = Collect()
        create_stock(collect, dest.tenant_id)

        def feed() -> None:
            for span in collect.spans:
                processor.on_end(span)

        result = measure(server, feed)
    processor.shutdown()
    result["dropped"] = SPANS - result["received"]
    server.clear()
    return result


def run_ragprism(server: FakeLangfuseProcess, spool: Path, *, burst: bool) -> dict[str, float]:
    dest = destination(server)
    stats = ExportStatsRegistry()
    # Tuned like the stock processor's max_queue_size: the whole burst may wait in memory.
    options: dict[str, Any] = {"stats": stats, "spool_path": spool, "queue_spans_per_tenant": SPANS}
    engine = TracingEngine(source=StaticSource([dest]), **options)
    engine.start()
    if burst:
        result = measure(server, lambda: create_ragprism(engine, dest))
    else:
        # Spans made by the facade of a second engine that never sends (nothing is due).
        maker = TracingEngine(
            source=StaticSource([dest]), stats=ExportStatsRegistry(),
            spool_path=spool.with_name("maker.db"), queue_spans_per_tenant=SPANS,
            flush_interval=3600, batch_size=SPANS + 1,
        )  # fmt: skip
        maker.start()
        create_ragprism(maker, dest)
        items = list(maker._queues[dest.tenant_id].spans)  # (span, trace attributes)
        maker._queues[dest.tenant_id].close()
        maker.shutdown(0.1)
        queue = engine._queue_for(dest.tenant_id)

        def feed() -> None:
            for span, trace in items:
                queue.put(span, trace)

        result = measure(server, feed)
    result["dropped"] = stats.snapshot(dest.tenant_id)["dropped"]
    engine.shutdown()
    server.clear()
    return result


def table(title: str, stock: dict[str, float], ours: dict[str, float]) -> None:
    print(f"\n{title}")
    print(f"{'':26}{'spans/s':>9}{'CPU µs/span':>13}{'server µs/span':>16}{'delivered':>11}"
          f"{'dropped':>9}")  # fmt: skip
    for name, run in (("stock BatchSpanProcessor", stock), ("ragprism TracingEngine", ours)):
        print(
            f"{name:26}{run['received'] / run['elapsed']:>9,.0f}{run['cpu'] / SPANS * 1e6:>13.1f}"
            f"{run['server_cpu'] / max(run['received'], 1) * 1e6:>16.1f}"
            f"{int(run['received']):>11,}{int(run['dropped']):>9,}"
        )
    rate = (ours["received"] / ours["elapsed"]) / (stock["received"] / stock["elapsed"])
    less = stock["cpu"] / ours["cpu"]
    print(f"ratio ragprism/stock: spans/s {rate:.2f}x, CPU per span {less:.2f}x less")


def main() -> None:
    load = os.getloadavg()[0]
    print(
        f"load average before the run: {load:.2f} on {os.cpu_count()} CPUs "
        "(other work on the machine skews the figures)"
    )
    server = FakeLangfuseProcess()
    try:
        gc.collect()
        cpu = time.process_time()
        create_stock(None, "t")
        create_us = (time.process_time() - cpu) / SPANS * 1e6
        with tempfile.TemporaryDirectory() as tmp:
            burst = (
                run_stock(server, burst=True),
                run_ragprism(server, Path(tmp) / "a.db", burst=True),
            )
            only = (
                run_stock(server, burst=False),
                run_ragprism(server, Path(tmp) / "b.db", burst=False),
            )
    finally:
        server.close()
    print(f"{SPANS:,} spans ({SPANS // PER_TRACE:,} traces of {PER_TRACE}); 2 cores; "
          f"stock span creation alone: {create_us:.1f} µs CPU/span")  # fmt: skip
    table("burst (create + export):", *burst)
    table("export only (pre-created spans handed to the processor):", *only)
    server_rate = 1e6 / (only[1]["server_cpu"] / max(only[1]["received"], 1) * 1e6)
    print(f"\nfake server decode capacity: ~{server_rate:,.0f} spans/s (its own CPU)")


if __name__ == "__main__":
    main()
