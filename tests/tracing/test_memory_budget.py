"""Memory is bounded in bytes per tenant and across tenants: past three quarters of a
budget batches go to the spool, past the budget spans are dropped (counted), and the
spool's own budget decides what is dropped once it is spent too."""

from __future__ import annotations

import random
import string
from collections import Counter
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext

from ragprism.tracing import RetryPolicy, TracingEngine
from ragprism.tracing.otlp import TraceAttributes
from ragprism.tracing.queues import MemoryBudget, Schedule, TenantQueue
from ragprism.tracing.sender import encode_otlp
from ragprism.tracing.sizes import span_size
from ragprism.tracing.stats import ExportStats
from tests.support.langfuse_server import FakeLangfuse
from tests.tracing.conftest import EngineFactory
from tests.tracing.helpers import DictSource, project, wait_until

NO_RETRY = RetryPolicy(base=0.05, cap=0.2, attempts=1, unauthorized_probe=60.0)
KiB = 1024


def noise(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def span(i: int, text: str) -> ReadableSpan:
    context = SpanContext(i + 1, i + 1, is_remote=False)
    return ReadableSpan("step", context=context, attributes={"langfuse.observation.input": text})


def queue(memory: MemoryBudget, max_bytes: int = 0, tenant: str = "t") -> TenantQueue:
    return TenantQueue(
        tenant,
        capacity=20_000,
        flush_interval=30.0,
        batch_size=512,
        stats=ExportStats(),
        schedule=Schedule(),
        max_bytes=max_bytes,
        memory=memory,
    )


def accounted(health: dict[str, Any]) -> int:
    return health["exported"] + health["dropped"] + health["spool"]["items"] + health["pending"]


# -- the estimate and the bookkeeping --------------------------------------------------


def test_the_size_estimate_follows_the_encoding() -> None:
    trace = TraceAttributes({"session.id": "s-1", "user.id": "u-1", "langfuse.trace.tags": ["a"]})
    for text in ("x" * 10, noise(random.Random(1), 20_000), "é" * 5_000, "漢字" * 3_000):
        one, two = span(1, text), span(2, text)
        estimate = span_size(one, trace)
        # what one more span adds to a request (the resource and scope are sent once)
        alone = encode_otlp([(one, trace)], 1).encoded_size
        encoded = encode_otlp([(one, trace), (two, trace)], 1).encoded_size - alone
        assert encoded <= estimate <= 2 * encoded + 200, (len(text), estimate, encoded)


def test_a_tenant_past_its_byte_cap_drops_its_oldest_spans() -> None:
    memory = MemoryBudget(0)
    q = queue(memory, max_bytes=10 * KiB)
    trace = TraceAttributes({})
    for i in range(40):
        q.put(span(i, "y" * 1_000), trace)
        assert q.bytes <= 10 * KiB
    assert q.stats.dropped_by_reason == {"memory budget": 40 - len(q)}
    assert q.stats.queued == 40
    assert memory.used == q.bytes == sum(q.sizes)
    assert [s.context.span_id for s, _ in q.spans] == list(range(41 - len(q), 41))  # newest kept


def test_all_tenants_together_stay_within_the_budget() -> None:
    memory = MemoryBudget(50 * KiB)
    queues = [queue(memory, tenant=f"t{i}") for i in range(20)]
    trace = TraceAttributes({})
    for i in range(10):
        for q in queues:
            q.put(span(i, "z" * 1_000), trace)
            assert memory.used <= 50 * KiB
    assert memory.used == sum(q.bytes for q in queues)
    dropped = sum(q.stats.dropped_by_reason.get("memory budget", 0) for q in queues)
    assert dropped == 200 - sum(len(q) for q in queues) > 0
    assert all(q.stats.queued == len(q) + q.stats.dropped for q in queues)
    assert all(q.over_budget() for q in queues if len(q))  # past 3/4: each spills
    taken = queues[0].take_spans(512)
    assert taken
    for q in queues:
        q.close("shutdown")
    assert memory.used == 0


# -- the engine ------------------------------------------------------------------------


def test_many_tenants_spill_to_the_spool_within_the_budget_and_deliver_after_recovery(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    budget = 256 * KiB
    engine = make_engine(memory_bytes=budget, flush_interval=30.0, retry=NO_RETRY)
    fake_langfuse.status(503, endpoints="otel")  # a shared outage
    tenants = [project(fake_langfuse, source) for _ in range(12)]
    engine.invalidate(tenants[0].tenant_id)
    rng = random.Random(3)
    for dest in tenants:  # ~48 KB each, ~580 KB in all: more than twice the budget
        for _ in range(40):
            with engine.tracer.trace("chat", tenant_id=dest.tenant_id, input=noise(rng, 1_000)):
                pass
        assert engine.memory()["bytes"] <= budget
        # the workers move batches to the spool until memory is back under 3/4
        wait_until(lambda: engine.memory()["bytes"] <= budget * 3 // 4, 10.0, "spilled")
    # every span is queued, spooled (a batch in flight is still in the spool) or dropped,
    # once the batches taken from the queues for a request are back from their 503
    wait_until(
        lambda: all(accounted(engine.health(d.tenant_id)) == 40 for d in tenants), 10.0, "sum"
    )
    healths = [engine.health(d.tenant_id) for d in tenants]
    assert all(h["queued"] == 40 for h in healths)
    assert sum(h["spool"]["items"] for h in healths) > 0  # the overflow is on disk
    assert sum(h["dropped"] for h in healths) == 0  # and the spool had room: nothing lost

    fake_langfuse.clear_faults()
    wait_until(
        lambda: (
            engine.flush(1.0) and all(engine.health(d.tenant_id)["exported"] == 40 for d in tenants)
        ),
        20.0,
        "delivery after recovery",
    )
    spans = fake_langfuse.spans()
    counts = Counter(s["span_id"] for s in spans)
    assert len(counts) == 12 * 40
    assert max(counts.values()) == 1  # none twice
    assert engine.memory()["bytes"] == 0


def test_spilled_batches_are_dropped_only_when_the_spool_is_full(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    cap, spool = 40 * KiB, 20 * KiB
    engine = make_engine(
        queue_bytes_per_tenant=cap,
        spool_bytes_per_tenant=spool,
        flush_interval=30.0,
        retry=NO_RETRY,
    )
    fake_langfuse.status(503, endpoints="otel")
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    rng = random.Random(4)
    for _ in range(20):  # 100 spans of ~1.2 KB: 3x the queue cap, 6x the spool budget
        for _ in range(5):
            with engine.tracer.trace("chat", tenant_id=dest.tenant_id, input=noise(rng, 1_000)):
                pass
        assert engine.health(dest.tenant_id)["pending_bytes"] <= cap
        wait_until(
            lambda: engine.health(dest.tenant_id)["pending_bytes"] <= cap * 3 // 4, 10.0, "spill"
        )
    wait_until(lambda: accounted(engine.health(dest.tenant_id)) == 100, 10.0, "in flight")
    health = engine.health(dest.tenant_id)
    assert health["queued"] == 100
    assert set(health["dropped_by_reason"]) == {"spool full"}  # never "memory budget"
    assert health["spool"]["bytes"] <= spool
    metrics = engine.metrics()[0].decode()
    assert f'reason="spool full",tenant_id="{dest.tenant_id}"' in metrics


def test_the_memory_accounting_returns_to_zero(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    with engine.tracer.trace("chat", tenant_id=dest.tenant_id, input="q") as trace:
        trace.score("user-feedback", 1.0)
    assert engine.flush(5.0)
    fake_langfuse.wait_for_spans(1, project_id=dest.project_id)
    assert engine.memory() == {"bytes": 0, "budget": 256 * 1024 * 1024}
    metrics = engine.metrics()[0].decode()
    assert "ragprism_trace_memory_bytes 0.0" in metrics
    assert "ragprism_trace_memory_budget_bytes 2.68435456e+08" in metrics


def score(n: int, comment: str) -> dict[str, Any]:
    return {"id": f"s{n}", "traceId": "0" * 32, "name": "user-feedback", "value": 1,
            "dataType": "BOOLEAN", "comment": comment}  # fmt: skip


def test_queued_scores_count_against_the_memory_budgets() -> None:
    """A feedback comment may be as long as the field cap: queued scores are held in
    memory like spans, so they count against both budgets (they did not: 1,000 per
    tenant whatever their size)."""
    memory = MemoryBudget(50 * KiB)
    q = queue(memory)
    q.put_score(score(1, "x" * 20_000))
    q.put_score(score(2, "y" * 20_000))
    assert memory.used > 40_000
    q.put_score(score(3, "z" * 20_000))  # would pass the budget
    assert q.stats.dropped_by_reason == Counter({"memory budget": 1})
    assert [s["id"] for s in q.scores] == ["s1", "s2"]
    assert q.take_score() == score(1, "x" * 20_000)
    assert 20_000 < memory.used < 25_000
    _spans, scores = q.close("shutdown")
    assert [s["id"] for s in scores] == ["s2"]
    assert memory.used == 0

    capped = queue(MemoryBudget(0), max_bytes=30 * KiB, tenant="capped")
    capped.put(span(1, "a" * 20_000), TraceAttributes({}))
    capped.put_score(score(4, "b" * 20_000))  # over the tenant's own cap with the span
    assert capped.stats.dropped_by_reason == Counter({"memory budget": 1})
    capped.put_score(score(5, "short"))
    assert [s["id"] for s in capped.scores] == ["s5"]


def test_past_the_score_limit_the_oldest_score_is_dropped() -> None:
    memory = MemoryBudget(0)
    q = queue(memory)
    for n in range(1_003):
        q.put_score(score(n, ""))
    assert q.stats.dropped_by_reason == Counter({"queue full": 3})
    assert len(q.scores) == 1_000
    assert q.scores[0]["id"] == "s3"
    assert memory.used == sum(q.score_sizes)
