"""Configuration changes, masking on the wire, and bounded threads."""

from __future__ import annotations

import threading

import pytest

from ragprism.tracing import NoopTrace, TracingEngine, masking
from ragprism.tracing.masking import PLACEHOLDERS, REDACTORS, mask_value
from ragprism.tracing.redaction import apply_redactors
from tests.support.langfuse_server import FakeLangfuse
from tests.tracing.conftest import EngineFactory
from tests.tracing.helpers import DictSource, project, send_traces, wait_until


def test_deleted_config_stops_export_and_counts_dropped(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(flush_interval=30.0)  # spans stay queued until the deletion
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    send_traces(engine, dest.tenant_id, 3)
    assert engine.health(dest.tenant_id)["pending"] == 6
    loads = source.loads
    source.remove(dest.tenant_id)  # as another process would: no invalidate() here
    wait_until(lambda: source.loads > loads + 1, message="a refresh")
    health = engine.health(dest.tenant_id)
    assert health["dropped_by_reason"] == {"config removed": 6}
    assert health["pending"] == 0
    with engine.tracer.trace("chat", tenant_id=dest.tenant_id) as trace:
        pass
    assert isinstance(trace, NoopTrace)
    assert engine.flush(2.0)
    assert fake_langfuse.request_count("otel") == 0


def test_disable_and_new_secret_apply_at_once(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    source.update(dest.tenant_id, enabled=False)
    engine.invalidate(dest.tenant_id)
    assert send_traces(engine, dest.tenant_id, 2) == []
    # A new key pair (another project on the same host) applies to the next batch.
    moved = project(fake_langfuse, DictSource(), tenant_id=dest.tenant_id)
    source.put(moved)
    engine.invalidate(dest.tenant_id)
    ids = send_traces(engine, dest.tenant_id, 2)
    assert engine.flush(5.0)
    spans = fake_langfuse.wait_for_spans(4, project_id=moved.project_id)
    assert {s["trace_id"] for s in spans} == set(ids)
    assert fake_langfuse.spans(dest.project_id) == []


def test_capture_metadata_and_redaction_apply_on_the_wire(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(max_field_chars=100)
    quiet = project(fake_langfuse, source, capture="metadata")
    redacted = project(fake_langfuse, source, redact=("email",))
    engine.invalidate(quiet.tenant_id)
    secret_text = "write to alice@example.com about the invoice"
    for dest in (quiet, redacted):
        with engine.tracer.trace("chat", tenant_id=dest.tenant_id, input=secret_text) as trace:
            with trace.observation("chat", kind="generation", input=secret_text) as gen:
                gen.update(output="x" * 500, usage={"input": 3})
            trace.update(output=secret_text)
    assert engine.flush(5.0)
    for span in fake_langfuse.wait_for_spans(2, project_id=quiet.project_id):
        attrs = span["attributes"]
        assert "langfuse.observation.input" not in attrs
        assert "langfuse.observation.output" not in attrs
        assert "alice" not in str(attrs)
    spans = fake_langfuse.wait_for_spans(2, project_id=redacted.project_id)
    gen = next(s for s in spans if s["name"] == "chat")["attributes"]
    assert "usage_details" in str(gen)
    root = next(s for s in spans if s["name"] == "ragflow-chat")["attributes"]
    for value in (gen["langfuse.observation.input"], root["langfuse.observation.input"]):
        assert "alice@example.com" not in value
        assert PLACEHOLDERS["email"] in value
    assert gen["langfuse.observation.output"].startswith("x" * 100)
    assert gen["langfuse.observation.output"].endswith("[truncated 400 chars]")


def test_threads_do_not_grow_with_tenants(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    engine = make_engine(workers=2)
    one = project(fake_langfuse, source)
    engine.invalidate(one.tenant_id)
    send_traces(engine, one.tenant_id, 5)
    assert engine.flush(5.0)
    with_one = sorted(engine.thread_names())
    many = [project(fake_langfuse, source) for _ in range(100)]
    engine.invalidate(many[0].tenant_id)
    for dest in many:
        send_traces(engine, dest.tenant_id, 2)
    assert engine.flush(20.0)
    assert len(fake_langfuse.spans()) == 10 + 100 * 4
    with_many = sorted(engine.thread_names())
    assert with_many == with_one
    # two export workers, the I/O loop and the config refresher (name lookups, none here)
    assert len(with_one) == 4
    ours = [t for t in threading.enumerate() if t.name.startswith("ragprism-trace-")]
    assert len(ours) == 4


def test_redaction_runs_in_the_export_worker_not_on_the_request_thread(
    make_engine: EngineFactory,
    source: DictSource,
    fake_langfuse: FakeLangfuse,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 10: the request thread's CPU per completion stays small with all redactors on
    and a long prompt; the redactors run where the span is encoded."""
    threads: list[str] = []

    def spy(value: str, names: tuple[str, ...]) -> str:
        threads.append(threading.current_thread().name)
        return apply_redactors(value, names)

    monkeypatch.setattr(masking, "_redact", spy)
    engine = make_engine(max_field_chars=20_000, flush_interval=30.0)  # sent at flush()
    dest = project(fake_langfuse, source, redact=tuple(REDACTORS))
    engine.invalidate(dest.tenant_id)
    prompt = "call +1 415 555 0100 or mail alice@example.com; " * 600  # 29,400 characters
    with engine.tracer.trace("chat", tenant_id=dest.tenant_id, input=prompt) as trace:
        with trace.observation("llm", kind="generation", input=prompt) as gen:
            gen.update(output="reach me at bob@example.org")
        trace.update(output="done")
    assert threads == []  # nothing redacted while the request was being served
    assert engine.flush(5.0)
    assert threads
    assert all(name.startswith("ragprism-trace-") for name in threads), threads
    assert threading.current_thread().name not in threads
    spans = fake_langfuse.wait_for_spans(2, project_id=dest.project_id)
    for span in spans:
        for key in ("langfuse.observation.input", "langfuse.observation.output"):
            value = span["attributes"][key]
            assert "@example." not in value, value[:200]
            assert "555 0100" not in value, value[:200]
    gen_input = next(s for s in spans if s["name"] == "llm")["attributes"][
        "langfuse.observation.input"
    ]
    assert gen_input == mask_value(prompt, capture="full", redact=REDACTORS, max_chars=20_000)
    assert PLACEHOLDERS["email"] in gen_input
    assert "[truncated " in gen_input
