"""Batches are capped in bytes as well as spans; a 413 from Langfuse splits a batch in
halves, and a single span it still refuses is dropped, counted ("too large")."""

from __future__ import annotations

import random
import string
from collections import Counter
from typing import Any

import pytest

from ragprism.tracing import RetryPolicy, TracingEngine
from ragprism.tracing.sender import Batch, Sender
from tests.support.langfuse_server import FakeLangfuse
from tests.tracing.conftest import EngineFactory
from tests.tracing.helpers import DictSource, project, wait_until

NO_RETRY = RetryPolicy(base=0.05, cap=0.2, attempts=1, unauthorized_probe=60.0)
KiB = 1024


def noise(rng: random.Random, n: int) -> str:
    """Text that gzip cannot shrink much (so that body sizes are predictable)."""
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def send_big(engine: TracingEngine, tenant_id: str, n: int, chars: int, seed: int = 1) -> None:
    """``n`` one-span traces, each with an input of ``chars`` characters."""
    rng = random.Random(seed)
    for _ in range(n):
        with engine.tracer.trace("chat", tenant_id=tenant_id, input=noise(rng, chars)):
            pass


def otel_bodies(fake: FakeLangfuse, status: int | None = 200) -> list[int]:
    return [
        r.bytes_received
        for r in fake.requests
        if r.path.endswith("/otel/v1/traces") and (status is None or r.status == status)
    ]


def delivered_once(fake: FakeLangfuse, project_id: str, n: int) -> None:
    spans = fake.wait_for_spans(n, project_id=project_id)
    counts = Counter(s["span_id"] for s in spans)
    assert len(counts) == n, f"{len(counts)} distinct spans, expected {n}"
    assert max(counts.values()) == 1, "a span arrived twice"


def accounted(health: dict[str, Any]) -> int:
    return health["exported"] + health["dropped"] + health["spool"]["items"] + health["pending"]


def test_a_batch_is_cut_by_bytes(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    cap = 64 * KiB
    engine = make_engine(batch_bytes=cap, flush_interval=30.0)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    send_big(engine, dest.tenant_id, 60, 8_000)  # ~480 KB of spans: 512 would fit in count
    assert engine.flush(10.0)
    delivered_once(fake_langfuse, dest.project_id, 60)
    bodies = otel_bodies(fake_langfuse)
    assert len(bodies) >= 8  # ~480 KB in requests of at most 64 KiB
    assert max(bodies) <= cap
    health = engine.health(dest.tenant_id)
    assert health["exported"] == 60
    assert health["dropped"] == 0
    assert engine.memory()["bytes"] == 0


def test_a_413_sends_the_batch_again_in_halves(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(batch_size=16, flush_interval=30.0)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.body_limit(14 * KiB)  # 16 spans of ~2.5 KB gzip'd: a quarter passes
    send_big(engine, dest.tenant_id, 16, 3_000)
    assert engine.flush(10.0)
    delivered_once(fake_langfuse, dest.project_id, 16)
    assert otel_bodies(fake_langfuse, 413)  # it was refused, then cut
    assert max(otel_bodies(fake_langfuse)) <= 14 * KiB
    health = engine.health(dest.tenant_id)
    assert health["exported"] == 16
    assert health["dropped"] == 0
    assert health["spool"]["items"] == 0
    assert health["last_error"].startswith("413")
    assert engine.memory()["bytes"] == 0


def test_a_413_splits_a_spooled_batch_in_the_spool(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(batch_size=16, flush_interval=30.0, retry=NO_RETRY)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.fail_next(1, 503, endpoints="otel")  # the batch goes to the spool
    fake_langfuse.body_limit(14 * KiB)  # and when replayed from there, it is too large
    send_big(engine, dest.tenant_id, 16, 3_000)
    # flush() does not wait for a destination backing off (after the 503): wait for it
    wait_until(lambda: engine.health(dest.tenant_id)["exported"] == 16, 10.0, "delivery")
    delivered_once(fake_langfuse, dest.project_id, 16)
    statuses = [r.status for r in fake_langfuse.requests]
    assert statuses[:2] == [503, 413]
    health = engine.health(dest.tenant_id)
    assert health["spooled"] == 16
    assert health["exported"] == 16
    assert health["dropped"] == 0
    assert health["spool"] == {"batches": 0, "items": 0, "bytes": 0}
    assert engine.memory()["bytes"] == 0


def test_a_single_span_too_large_is_dropped_and_counted(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(batch_size=8, flush_interval=30.0)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.body_limit(8 * KiB)
    send_big(engine, dest.tenant_id, 1, 15_000)  # ~11 KB gzip'd alone
    send_big(engine, dest.tenant_id, 6, 500, seed=2)
    assert engine.flush(10.0) is False  # something was dropped
    delivered_once(fake_langfuse, dest.project_id, 6)
    health = engine.health(dest.tenant_id)
    assert health["dropped_by_reason"] == {"too large": 1}
    assert health["exported"] == 6
    assert accounted(health) == health["queued"] == 7
    assert "413" in health["last_error"]
    metrics = engine.metrics()[0].decode()
    assert (
        f'ragprism_trace_dropped_total{{reason="too large",tenant_id="{dest.tenant_id}"}} 1.0'
        in metrics
    )
    assert engine.memory()["bytes"] == 0


def test_a_batch_the_estimate_got_wrong_is_cut_again_after_encoding(
    make_engine: EngineFactory,
    source: DictSource,
    fake_langfuse: FakeLangfuse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []
    submit = Sender.submit

    def spy(self: Sender, destination: Any, batch: Batch, done: Any) -> None:
        sent.append(batch.encoded_size)
        submit(self, destination, batch, done)

    monkeypatch.setattr(Sender, "submit", spy)
    cap = 40 * KiB
    engine = make_engine(batch_bytes=cap, flush_interval=30.0)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    rng = random.Random(5)
    for _ in range(10):  # 4 bytes a character in UTF-8; the estimate counts 3
        text = "".join(rng.choices("😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗", k=2_500))
        with engine.tracer.trace("chat", tenant_id=dest.tenant_id, input=text):
            pass
    assert engine.flush(10.0)
    delivered_once(fake_langfuse, dest.project_id, 10)
    assert len(sent) >= 4  # ~100 KB: the estimate's 5-span batches (~50 KB) were cut again
    assert max(sent) <= cap
    assert engine.health(dest.tenant_id)["exported"] == 10
