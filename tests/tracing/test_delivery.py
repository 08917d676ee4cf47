"""Delivery through failures: retries, refused keys, hangs, the spool, restarts."""

from __future__ import annotations

import ragprism
from ragprism.tracing import RetryPolicy, TracingEngine
from tests.support.langfuse_server import FakeLangfuse
from tests.tracing.conftest import EngineFactory
from tests.tracing.helpers import DictSource, project, send_traces, wait_until

NO_RETRY = RetryPolicy(base=0.05, cap=0.2, attempts=1, unauthorized_probe=60.0)


def test_503_is_retried_then_delivered(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.fail_next(2, 503, endpoints="otel")
    ids = send_traces(engine, dest.tenant_id, 3)
    assert engine.flush(10.0)
    spans = fake_langfuse.wait_for_spans(6, project_id=dest.project_id)
    assert {s["trace_id"] for s in spans} == set(ids)
    assert len({s["span_id"] for s in spans}) == len(spans) == 6
    health = engine.health(dest.tenant_id)
    assert health["exported"] == 6
    assert health["retried"] >= 6
    assert health["healthy"] is True
    assert health["last_error"].startswith("503")
    assert [r.status for r in fake_langfuse.requests][:2] == [503, 503]


def test_429_retry_after_is_honoured(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.fail_next(1, 429, retry_after=1, endpoints="otel")
    send_traces(engine, dest.tenant_id, 1)
    assert engine.flush(10.0)
    fake_langfuse.wait_for_spans(2, project_id=dest.project_id)
    first, second = fake_langfuse.requests[:2]
    assert (first.status, second.status) == (429, 200)
    # Not a timing assertion: the retry must not come before Retry-After allowed it.
    assert second.time - first.time >= 0.95


def test_401_marks_unhealthy_without_retry_storm(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.unauthorized(endpoints="otel")
    send_traces(engine, dest.tenant_id, 2)
    wait_until(lambda: engine.health(dest.tenant_id)["healthy"] is False, message="unhealthy")
    for _ in range(20):
        send_traces(engine, dest.tenant_id, 5)
        assert engine.flush(2.0)  # the refused destination's spans go to the spool
    health = engine.health(dest.tenant_id)
    assert health["last_error"].startswith("401 Unauthorized")
    assert health["spool"]["items"] == 2 * 2 + 20 * 5 * 2
    assert fake_langfuse.request_count("otel") == 1  # probed again only after 60 s
    # A new configuration (e.g. fixed keys) is probed at once; the spool is then replayed.
    fake_langfuse.clear_faults()
    source.update(dest.tenant_id)
    engine.invalidate(dest.tenant_id)
    spans = fake_langfuse.wait_for_spans(204, project_id=dest.project_id)
    assert len({s["span_id"] for s in spans}) == 204
    wait_until(lambda: engine.health(dest.tenant_id)["healthy"] is True, message="healthy")


def test_hang_times_out_spools_and_recovers(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(retry=NO_RETRY, export_timeout=0.5)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.hang(endpoints="otel")
    ids = send_traces(engine, dest.tenant_id, 3)
    wait_until(lambda: engine.health(dest.tenant_id)["spooled"] == 6, message="spooled")
    assert "within" in engine.health(dest.tenant_id)["last_error"]
    fake_langfuse.clear_faults()
    wait_until(lambda: engine.health(dest.tenant_id)["spool"]["batches"] == 0, 10, "replayed")
    # At least once: the hung request itself may have been answered after our timeout.
    spans = fake_langfuse.wait_for_spans(6, project_id=dest.project_id)
    assert {s["trace_id"] for s in spans} == set(ids)
    assert len({s["span_id"] for s in spans}) == 6


def test_hung_tenant_does_not_delay_another(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(export_timeout=30.0)  # a hung request holds its worker a long time
    with FakeLangfuse(public_key=None) as hung_server:
        hung = project(hung_server, source)
        healthy = project(fake_langfuse, source)
        engine.invalidate(hung.tenant_id)
        hung_server.hang()
        send_traces(engine, hung.tenant_id, 5)
        hung_server.wait_for_hanging(1)
        for round_ in range(1, 6):
            ids = send_traces(engine, healthy.tenant_id, 10)
            spans = fake_langfuse.wait_for_spans(20 * round_, project_id=healthy.project_id)
            assert set(ids) <= {s["trace_id"] for s in spans}
            send_traces(engine, hung.tenant_id, 5)
        assert hung_server.hanging == 1  # one worker, one request: never a second one
        assert engine.health(hung.tenant_id)["exported"] == 0
        hung_server.clear_faults()


def test_spool_survives_restart_without_duplicates(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    first = make_engine(retry=NO_RETRY, flush_interval=0.05)
    dest = project(fake_langfuse, source)
    first.invalidate(dest.tenant_id)
    fake_langfuse.status(503, endpoints="otel")
    ids = send_traces(first, dest.tenant_id, 10)
    wait_until(lambda: first.health(dest.tenant_id)["spooled"] == 20, message="spooled")
    ids += send_traces(first, dest.tenant_id, 5)  # still in memory at shutdown
    first.shutdown(deadline=1.0)
    assert first.health(dest.tenant_id)["spooled"] == 30
    assert fake_langfuse.spans() == []

    fake_langfuse.clear_faults()
    second = make_engine()
    assert second.flush(10.0)
    spans = fake_langfuse.wait_for_spans(30, project_id=dest.project_id)
    assert len(spans) == 30
    assert len({s["span_id"] for s in spans}) == 30  # no duplicates
    assert {s["trace_id"] for s in spans} == set(ids)
    health = second.health(dest.tenant_id)
    assert health["spool"] == {"batches": 0, "items": 0, "bytes": 0}
    assert health["exported"] == 30


def test_spool_budget_drops_oldest_and_counts(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(retry=NO_RETRY, spool_bytes_per_tenant=2_000)
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    fake_langfuse.status(503, endpoints="otel")
    for _ in range(30):
        send_traces(engine, dest.tenant_id, 1)
        engine.flush(0.2)
    health = engine.health(dest.tenant_id)
    assert health["spool"]["bytes"] <= 2_000
    assert health["dropped_by_reason"].get("spool full", 0) > 0
    assert health["spool"]["items"] + health["dropped"] == 60 - health["pending"]


def test_otlp_requests_ask_for_langfuse_ingestion_version_4(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    """Without ``x-langfuse-ingestion-version: 4`` Langfuse puts OTLP traffic on its older
    write path (delayed visibility); the SDK name and version go with it."""
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    send_traces(engine, dest.tenant_id, 2)
    assert engine.flush(10.0)
    fake_langfuse.wait_for_spans(4, project_id=dest.project_id)
    otel = [r for r in fake_langfuse.requests if r.path.endswith("/otel/v1/traces")]
    assert otel
    for record in otel:
        headers = dict(record.langfuse_headers)
        assert headers["x-langfuse-ingestion-version"] == "4"
        assert headers["x-langfuse-sdk-name"] == "ragprism"
        assert headers["x-langfuse-sdk-version"] == ragprism.__version__
