"""Nothing is lost without a count: every batch ends exported, spooled, or dropped with a
reason, whatever fails inside a worker step or at shutdown."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ragprism.tracing import RetryPolicy, TracingEngine
from ragprism.tracing import export as export_module
from ragprism.tracing.sender import Batch, encode_otlp
from ragprism.tracing.spool import SpanSpool
from tests.support.langfuse_server import FakeLangfuse
from tests.tracing.conftest import EngineFactory
from tests.tracing.helpers import DictSource, project, send_traces, wait_until

NO_RETRY = RetryPolicy(base=0.05, cap=0.2, attempts=1, unauthorized_probe=60.0)


def accounted(health: dict[str, Any]) -> int:
    """Items whose fate is known: exported, dropped, spooled now, or still queued."""
    return health["exported"] + health["dropped"] + health["spool"]["items"] + health["pending"]


def failing_encoder(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    """Make encoding fail for any batch holding a span named ``bad`` (as the encoder did
    on a lone surrogate, and as any encoder bug would)."""

    def encode(items: Sequence[Any], version: int) -> Batch:
        if any(span.name == bad for span, _ in items):
            raise ValueError(f"cannot encode {bad}")
        return encode_otlp(items, version)

    monkeypatch.setattr(export_module, "encode_otlp", encode)


def test_a_lone_surrogate_is_exported_or_counted(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    with engine.tracer.trace("chat", tenant_id=dest.tenant_id, input="ok \ud800 answer"):
        pass
    good = send_traces(engine, dest.tenant_id, 3)
    flushed = engine.flush(5.0)
    health = engine.health(dest.tenant_id)
    assert accounted(health) == health["queued"] == 7
    # Either the encoder copes (then it is delivered) or the span is counted, with a reason.
    assert flushed == (health["dropped"] == 0)
    if health["dropped"]:
        assert health["dropped_by_reason"] == {"unencodable": 1}
        assert "encode" in health["last_error"]
    spans = fake_langfuse.wait_for_spans(7 - health["dropped"], project_id=dest.project_id)
    assert set(good) <= {s["trace_id"] for s in spans}


def test_an_encoder_failure_drops_only_the_spans_at_fault(
    engine: TracingEngine,
    source: DictSource,
    fake_langfuse: FakeLangfuse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing_encoder(monkeypatch, "bad-step")
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    with (
        engine.tracer.trace("chat", tenant_id=dest.tenant_id) as trace,
        trace.observation("bad-step"),
    ):
        pass
    good = send_traces(engine, dest.tenant_id, 2)
    assert engine.flush(5.0) is False  # it does not pretend that all went out
    health = engine.health(dest.tenant_id)
    assert health["dropped_by_reason"] == {"unencodable": 1}
    assert health["last_error"].startswith("cannot encode 1 span(s)")
    assert accounted(health) == health["queued"] == 6
    spans = fake_langfuse.wait_for_spans(5, project_id=dest.project_id)
    assert {s["trace_id"] for s in spans} >= set(good)
    assert "bad-step" not in {s["name"] for s in spans}
    metrics = engine.metrics()[0].decode()
    assert (
        f'ragprism_trace_dropped_total{{reason="unencodable",tenant_id="{dest.tenant_id}"}} 1.0'
        in metrics
    )


def test_a_503_with_a_broken_gzip_body_is_retried(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.fail_next(
        2, 503, body=b"\x1f\x8bnot gzip at all", headers={"Content-Encoding": "gzip"},
        endpoints="otel",
    )  # fmt: skip
    ids = send_traces(engine, dest.tenant_id, 3)
    assert engine.flush(10.0)
    spans = fake_langfuse.wait_for_spans(6, project_id=dest.project_id)
    assert {s["trace_id"] for s in spans} == set(ids)
    health = engine.health(dest.tenant_id)
    assert health["exported"] == 6
    assert health["dropped"] == 0
    assert health["last_error"].startswith("503 Service Unavailable")


def test_an_error_with_one_tenant_at_shutdown_does_not_stop_the_others(
    make_engine: EngineFactory,
    source: DictSource,
    fake_langfuse: FakeLangfuse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = make_engine(retry=NO_RETRY, batch_size=2, flush_interval=30.0)
    first, second = project(fake_langfuse, source), project(fake_langfuse, source)
    engine.invalidate(first.tenant_id)
    fake_langfuse.hang(endpoints="otel")
    for dest in (first, second):
        send_traces(engine, dest.tenant_id, 3)  # 3 batches: one in flight, two in memory
    fake_langfuse.wait_for_hanging(2)
    spool_put = SpanSpool.put

    def put(self: SpanSpool, tenant_id: str, batch: Batch) -> tuple[int, int]:
        if tenant_id == first.tenant_id:
            raise RuntimeError("disk on fire")
        return spool_put(self, tenant_id, batch)

    monkeypatch.setattr(SpanSpool, "put", put)
    engine.shutdown(deadline=0.5)
    fake_langfuse.clear_faults()
    lost, kept = engine.health(first.tenant_id), engine.health(second.tenant_id)
    assert kept["spooled"] == 6
    assert kept["dropped"] == 0
    assert lost["exported"] + lost["dropped"] == 6  # counted, not lost silently
    assert set(lost["dropped_by_reason"]) == {"spool unavailable"}
    assert "disk on fire" in lost["last_error"]


def test_spans_ended_after_shutdown_began_are_counted(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    with engine.tracer.trace("chat", tenant_id=dest.tenant_id) as trace:
        with trace.observation("retrieval"):
            pass
        engine.shutdown(deadline=1.0)
        with trace.observation("chat"):
            pass
    health = engine.health(dest.tenant_id)
    assert health["exported"] == 1
    assert health["dropped_by_reason"] == {"shutdown": 2}


def test_the_batch_encoded_ahead_is_sent_without_waiting_for_another_span(
    make_engine: EngineFactory,
    source: DictSource,
    fake_langfuse: FakeLangfuse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The look-ahead encoding finishing just after the request in flight was settled
    (the race that left that batch unsent until the tenant's next span)."""
    calls = 0

    def slow_second_encode(items: Sequence[Any], version: int) -> Batch:
        nonlocal calls
        calls += 1
        if calls == 2:  # the batch encoded ahead, while the first is in flight
            deadline = time.monotonic() + 5.0
            while fake_langfuse.request_count("otel") < 1 and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.2)  # let the sending worker settle its answer first
        return encode_otlp(items, version)

    monkeypatch.setattr(export_module, "encode_otlp", slow_second_encode)
    engine = make_engine(batch_size=4, flush_interval=30.0)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    for _ in range(5):
        ids = send_traces(engine, dest.tenant_id, 4)  # two full batches of 4 spans
        calls = 0
        assert engine.flush(3.0)
        spans = fake_langfuse.wait_for_spans(8, project_id=dest.project_id)
        assert set(ids) <= {s["trace_id"] for s in spans}
        fake_langfuse.clear()
        calls = 0


def test_a_forked_child_does_not_run_the_parents_engine(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running any cleanup
        try:
            with engine.tracer.trace("chat", tenant_id=dest.tenant_id) as trace:
                pass
            try:
                engine.start()
                refused = "started"
            except RuntimeError as exc:
                refused = str(exc)
            os.write(write, f"{trace.trace_id}|{refused}".encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        trace_id, refused = pipe.read().split("|", 1)
    assert trace_id == "None"  # tracing is off in the child
    assert "start the engine after forking" in refused
    send_traces(engine, dest.tenant_id, 1)  # the parent goes on
    assert engine.flush(5.0)


def test_the_spool_is_private_and_gives_space_back(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = SpanSpool(path, max_bytes_per_tenant=1 << 30)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        payload = os.urandom(20_000)
        ids = [spool.put("t", Batch("otlp", payload, 1, 1))[0] for _ in range(200)]
        full = spool.pages()
        for row_id in ids:
            spool.delete(row_id)
        spool.compact()
        assert spool.pages() < full // 10
    finally:
        spool.close()
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            assert stat.S_IMODE(companion.stat().st_mode) == 0o600


def test_a_request_in_flight_at_shutdown_is_spooled_and_replayed(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    """Cancelled when the deadline is up, its batch is spooled, not lost."""
    engine = make_engine(retry=NO_RETRY, export_timeout=30.0)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.hang(endpoints="otel")
    send_traces(engine, dest.tenant_id, 2)
    fake_langfuse.wait_for_hanging(1)
    stopping = threading.Thread(target=engine.shutdown, kwargs={"deadline": 0.5})
    stopping.start()
    stopping.join(10.0)
    assert not stopping.is_alive()
    fake_langfuse.clear_faults()
    health = engine.health(dest.tenant_id)
    assert health["spooled"] == 4
    assert health["dropped"] == 0
    second = make_engine()
    assert second.flush(10.0)
    wait_until(lambda: second.health(dest.tenant_id)["exported"] == 4, message="replayed")


def test_a_batch_langfuse_keeps_refusing_expires_and_stops_blocking_the_rest(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    retry = RetryPolicy(base=0.01, cap=0.05, attempts=1, max_attempts=3)
    engine = make_engine(retry=retry)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.status(500, endpoints="otel")
    send_traces(engine, dest.tenant_id, 1)
    wait_until(lambda: engine.health(dest.tenant_id)["dropped"] == 2, message="expired")
    health = engine.health(dest.tenant_id)
    assert health["dropped_by_reason"] == {"expired": 2}
    assert health["last_error"].startswith("gave a batch up after 3 attempts")
    assert health["spool"]["items"] == 0
    assert fake_langfuse.request_count("otel") == 3
    fake_langfuse.clear_faults()
    ids = send_traces(engine, dest.tenant_id, 2)
    assert engine.flush(5.0)
    spans = fake_langfuse.wait_for_spans(4, project_id=dest.project_id)
    assert {s["trace_id"] for s in spans} == set(ids)


def test_a_spooled_batch_remembers_its_attempts(tmp_path: Path) -> None:
    spool = SpanSpool(tmp_path / "spool.db", max_bytes_per_tenant=1 << 20)
    try:
        row_id, _ = spool.put("t", Batch("otlp", b"x", 1, 1, attempts=2, first_failed=1000.0))
        claimed = spool.claim("t")
        assert claimed is not None
        assert (claimed.attempts, claimed.first_failed) == (2, 1000.0)
        claimed.attempts += 1
        spool.release(row_id, claimed)
        again = spool.claim("t")
        assert again is not None
        assert (again.attempts, again.first_failed) == (3, 1000.0)
    finally:
        spool.close()


def test_a_400_is_not_retried(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.fail_next(1, 400, endpoints="otel")
    send_traces(engine, dest.tenant_id, 1)
    assert engine.flush(5.0) is False
    health = engine.health(dest.tenant_id)
    assert health["dropped_by_reason"] == {"rejected": 2}
    assert health["last_error"].startswith("400 Bad Request")
    assert fake_langfuse.request_count("otel") == 1


def test_spans_stay_with_the_project_they_were_recorded_for(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(retry=NO_RETRY)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.status(503, endpoints="otel")
    spooled = send_traces(engine, dest.tenant_id, 2)
    wait_until(lambda: engine.health(dest.tenant_id)["spooled"] == 4, message="spooled")
    # A key rotation within the same project: what was recorded is sent with the new keys.
    public, secret = "pk-lf-rotated", "sk-lf-rotated"
    fake_langfuse.add_project(public, secret, project_id=dest.project_id)
    source.update(dest.tenant_id, public_key=public, secret_key=secret)
    engine.invalidate(dest.tenant_id)
    # One request per destination is in flight at a time: once a retry with the new keys
    # has been refused, no request with the old keys can still be on its way.
    wait_until(
        lambda: any(r.public_key == public for r in fake_langfuse.requests),
        message="a retry with the new keys",
    )
    fake_langfuse.clear_faults()
    assert engine.flush(5.0)
    spans = fake_langfuse.wait_for_spans(4, project_id=dest.project_id)
    assert {s["trace_id"] for s in spans} == set(spooled)
    assert {s["public_key"] for s in spans} == {public}
    # A new project: spans recorded for the old one are dropped, counted, never moved.
    fake_langfuse.status(503, endpoints="otel")
    old = send_traces(engine, dest.tenant_id, 1)
    wait_until(lambda: engine.health(dest.tenant_id)["spooled"] == 6, message="spooled again")
    with engine.tracer.trace("chat", tenant_id=dest.tenant_id) as open_trace:
        with open_trace.observation("before the change"):
            pass
        fake_langfuse.add_project("pk-lf-new", "sk-lf-new", project_id="p-new-project")
        source.update(
            dest.tenant_id, public_key="pk-lf-new", secret_key="sk-lf-new",
            project_id="p-new-project",
        )  # fmt: skip
        engine.invalidate(dest.tenant_id)
    new = send_traces(engine, dest.tenant_id, 1)
    # As above: once a request to the new project has been refused, no request to the old
    # one is still on its way (a batch already sent to the old project stays there).
    wait_until(
        lambda: any(r.public_key == "pk-lf-new" for r in fake_langfuse.requests),
        message="a request to the new project",
    )
    fake_langfuse.clear_faults()
    engine.flush(5.0)
    moved = fake_langfuse.wait_for_spans(2, project_id="p-new-project")
    assert {s["trace_id"] for s in moved} == set(new)
    # The old project's spooled batch is dropped when it comes up (after any backoff).
    wait_until(lambda: engine.health(dest.tenant_id)["spool"]["items"] == 0, message="empty")
    assert not set(old) & {s["trace_id"] for s in fake_langfuse.spans()}
    assert engine.health(dest.tenant_id)["dropped_by_reason"] == {"project changed": 4}


def test_the_spool_is_deleted_only_when_the_configuration_is_gone(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(retry=NO_RETRY)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.status(503, endpoints="otel")
    send_traces(engine, dest.tenant_id, 2)
    wait_until(lambda: engine.health(dest.tenant_id)["spool"]["items"] == 4, message="spooled")
    # Disabled (or, from the database source, a secret that cannot be decrypted now):
    # still configured, so the spool stays through refreshes and housekeeping.
    source.update(dest.tenant_id, enabled=False)
    engine.invalidate(dest.tenant_id)
    loads = source.loads
    wait_until(lambda: source.loads > loads + 2, message="refreshes")
    assert engine.health(dest.tenant_id)["spool"]["items"] == 4
    assert engine.health(dest.tenant_id)["dropped"] == 0
    # Enabled again: delivered.
    fake_langfuse.clear_faults()
    source.update(dest.tenant_id, enabled=True)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.wait_for_spans(4, project_id=dest.project_id)
    # Deleted from the database: now the spool goes, counted.
    fake_langfuse.status(503, endpoints="otel")
    send_traces(engine, dest.tenant_id, 1)
    wait_until(lambda: engine.health(dest.tenant_id)["spool"]["items"] == 2, message="spooled")
    source.remove(dest.tenant_id)
    engine.invalidate(dest.tenant_id)
    wait_until(lambda: engine.health(dest.tenant_id)["spool"]["items"] == 0, message="deleted")
    assert engine.health(dest.tenant_id)["dropped_by_reason"] == {"config removed": 2}


def test_a_spooled_batch_in_flight_is_counted_once(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    """A batch replayed from the spool is still in the spool while its request is out:
    disabling keeps it (not dropped), removing drops it once (not once from memory and
    once more from the spool)."""
    engine = make_engine(retry=NO_RETRY)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.status(503, endpoints="otel")
    send_traces(engine, dest.tenant_id, 1)
    wait_until(lambda: engine.health(dest.tenant_id)["spool"]["items"] == 2, message="spooled")
    fake_langfuse.clear_faults()
    fake_langfuse.hang(endpoints="otel")
    fake_langfuse.wait_for_hanging(1)  # the replay of the spooled batch is in flight
    try:
        source.update(dest.tenant_id, enabled=False)
        engine.invalidate(dest.tenant_id)
        health = engine.health(dest.tenant_id)
        assert (health["spool"]["items"], health["dropped"]) == (2, 0)
        source.remove(dest.tenant_id)
        engine.invalidate(dest.tenant_id)
        wait_until(lambda: engine.health(dest.tenant_id)["spool"]["items"] == 0, message="gone")
        assert engine.health(dest.tenant_id)["dropped_by_reason"] == {"config removed": 2}
    finally:
        fake_langfuse.clear_faults()
