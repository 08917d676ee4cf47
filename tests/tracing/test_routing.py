"""Per-tenant routing, no-op traces and sampling."""

from __future__ import annotations

import json

from ragprism.tracing import NoopTrace, TracingEngine
from tests.support.langfuse_server import FakeLangfuse
from tests.tracing.helpers import DictSource, project, send_traces


def test_two_tenants_never_cross(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    a = project(fake_langfuse, source)
    b = project(fake_langfuse, source)
    engine.invalidate(a.tenant_id)
    ids_a: list[str] = []
    ids_b: list[str] = []
    for _ in range(10):
        ids_a += send_traces(engine, a.tenant_id, 1, children=2)
        ids_b += send_traces(engine, b.tenant_id, 1, children=1)
    assert engine.flush(5.0)
    spans_a = fake_langfuse.wait_for_spans(30, project_id=a.project_id)
    spans_b = fake_langfuse.wait_for_spans(20, project_id=b.project_id)
    assert len(spans_a) == 30
    assert len(spans_b) == 20
    assert {s["trace_id"] for s in spans_a} == set(ids_a)
    assert {s["trace_id"] for s in spans_b} == set(ids_b)
    for spans, dest in ((spans_a, a), (spans_b, b)):
        for span in spans:
            assert span["attributes"]["langfuse.trace.metadata.tenant_id"] == json.dumps(
                dest.tenant_id
            )
            wire = json.dumps([span["attributes"], span["resource"]])
            assert a.secret_key not in wire
            assert b.secret_key not in wire
            assert "secret" not in wire


def test_no_config_disabled_or_rate_zero_is_noop(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    disabled = project(fake_langfuse, source, enabled=False)
    never = project(fake_langfuse, source, sample_rate=0.0)
    engine.invalidate(disabled.tenant_id)
    for tenant_id in ("no-such-tenant", disabled.tenant_id, never.tenant_id):
        with engine.tracer.trace("chat", tenant_id=tenant_id) as trace:
            with trace.observation("step") as step:
                step.update(output="x")
            trace.update(output="y")
            trace.score("s", 1.0)
        assert isinstance(trace, NoopTrace)
        assert trace.trace_id is None
        assert trace.url is None
    assert not engine.tracer.score_trace("no-such-tenant", "0" * 32, "user-feedback", 1)
    assert engine.flush(2.0)
    assert fake_langfuse.request_count("otel") == 0
    assert fake_langfuse.request_count("scores") == 0


def test_sampling_is_per_trace(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    half = project(fake_langfuse, source, sample_rate=0.5)
    engine.invalidate(half.tenant_id)
    ids = send_traces(engine, half.tenant_id, 400, children=2)
    assert 120 <= len(ids) <= 280  # loose: about half of 400
    assert engine.flush(10.0)
    spans = fake_langfuse.wait_for_spans(3 * len(ids), project_id=half.project_id)
    assert len(spans) == 3 * len(ids)
    per_trace: dict[str, int] = {}
    for span in spans:
        per_trace[span["trace_id"]] = per_trace.get(span["trace_id"], 0) + 1
    assert set(per_trace) == set(ids)
    assert set(per_trace.values()) == {3}  # whole trees, never partial ones


def test_scores_are_delivered(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source, environment="prod")
    engine.invalidate(dest.tenant_id)
    with engine.tracer.trace("chat", tenant_id=dest.tenant_id) as trace:
        trace.score("relevance", 0.7, comment="fine")
    assert trace.trace_id is not None
    assert engine.tracer.score_trace(
        dest.tenant_id, trace.trace_id, "user-feedback", 1, "BOOLEAN", "great answer"
    )
    assert engine.flush(5.0)
    scores = fake_langfuse.wait_for_scores(2, project_id=dest.project_id)
    by_name = {score["name"]: score for score in scores}
    assert by_name["user-feedback"]["traceId"] == trace.trace_id
    assert by_name["user-feedback"]["dataType"] == "BOOLEAN"
    assert by_name["user-feedback"]["value"] == 1
    assert by_name["user-feedback"]["comment"] == "great answer"
    assert by_name["user-feedback"]["environment"] == "prod"
    assert by_name["relevance"]["value"] == 0.7
