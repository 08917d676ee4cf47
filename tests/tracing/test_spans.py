"""What lands in Langfuse: the span tree and Langfuse's attributes (SPEC §5)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ragprism import __version__
from ragprism.tracing import TracingEngine
from tests.support.langfuse_server import FakeLangfuse
from tests.tracing.helpers import DictSource, project

TRACE_KEYS = (
    "langfuse.trace.name",
    "session.id",
    "user.id",
    "langfuse.trace.tags",
    "langfuse.environment",
    "langfuse.release",
    "langfuse.trace.metadata.tenant_id",
    "langfuse.trace.metadata.chat_id",
)


def test_span_tree_and_attributes(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source, environment="staging")
    engine.invalidate(dest.tenant_id)
    started = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    with engine.tracer.trace(
        "chat",
        tenant_id=dest.tenant_id,
        session_id="sess-1",
        user_id="user-1",
        input={"question": "What is RAG?"},
        tags=["assistant-a", "gpt-x"],
        metadata={"chat_id": "c1"},
    ) as trace:
        with trace.observation("retrieval", kind="retriever", input="What is RAG?") as retrieval:
            with retrieval.observation("embed-query", kind="embedding", model="bge") as embed:
                embed.update(usage={"input": 4})
            with retrieval.observation("search") as search:
                search.update(output=[{"chunk": "RAG is ..."}])
            retrieval.update(output={"chunks": 1})
        with trace.observation(
            "chat",
            kind="generation",
            model="gpt-x",
            model_parameters={"temperature": 0.1},
            input=[{"role": "user", "content": "What is RAG?"}],
        ) as generation:
            generation.update(
                output="Retrieval-augmented generation.",
                usage={"input": 10, "output": 5, "total": 15},
                completion_start_time=started,
                metadata={"finish_reason": "stop"},
            )
        trace.update(output="Retrieval-augmented generation.")
    assert trace.trace_id is not None
    assert len(trace.trace_id) == 32
    assert trace.url == f"{fake_langfuse.url}/project/{dest.project_id}/traces/{trace.trace_id}"
    assert engine.flush(5.0)
    spans = fake_langfuse.wait_for_spans(5, project_id=dest.project_id)
    assert len(spans) == 5
    assert fake_langfuse.span_tree(trace.trace_id) == {
        "name": "ragflow-chat",
        "children": [
            {
                "name": "retrieval",
                "children": [
                    {"name": "embed-query", "children": []},
                    {"name": "search", "children": []},
                ],
            },
            {"name": "chat", "children": []},
        ],
    }
    for span in spans:
        attrs = span["attributes"]
        assert attrs["langfuse.trace.name"] == "ragflow-chat"
        assert attrs["session.id"] == "sess-1"
        assert attrs["user.id"] == "user-1"
        assert attrs["langfuse.trace.tags"] == ["assistant-a", "gpt-x"]
        assert attrs["langfuse.environment"] == "staging"
        assert attrs["langfuse.release"] == __version__
        assert attrs["langfuse.trace.metadata.tenant_id"] == json.dumps(dest.tenant_id)
        assert attrs["langfuse.trace.metadata.chat_id"] == '"c1"'
    by_name = {span["name"]: span["attributes"] for span in spans}
    root = by_name["ragflow-chat"]
    assert root["langfuse.observation.type"] == "span"
    assert json.loads(root["langfuse.observation.input"]) == {"question": "What is RAG?"}
    assert root["langfuse.observation.output"] == "Retrieval-augmented generation."
    assert by_name["retrieval"]["langfuse.observation.type"] == "retriever"
    assert by_name["retrieval"]["langfuse.observation.input"] == "What is RAG?"
    assert json.loads(by_name["search"]["langfuse.observation.output"]) == [{"chunk": "RAG is ..."}]
    embed = by_name["embed-query"]
    assert embed["langfuse.observation.type"] == "embedding"
    assert embed["langfuse.observation.model.name"] == "bge"
    gen = by_name["chat"]
    assert gen["langfuse.observation.type"] == "generation"
    assert gen["langfuse.observation.model.name"] == "gpt-x"
    assert json.loads(gen["langfuse.observation.model.parameters"]) == {"temperature": 0.1}
    assert json.loads(gen["langfuse.observation.usage_details"]) == {
        "input": 10, "output": 5, "total": 15,
    }  # fmt: skip
    assert json.loads(gen["langfuse.observation.completion_start_time"]) == "2025-01-02T03:04:05Z"
    assert json.loads(gen["langfuse.observation.input"]) == [
        {"role": "user", "content": "What is RAG?"}
    ]
    assert gen["langfuse.observation.metadata.finish_reason"] == '"stop"'
    assert "langfuse.observation.level" not in gen
    stats = engine.health(dest.tenant_id)
    assert stats["exported"] == 5
    assert stats["healthy"] is True
    assert stats["dropped"] == 0


def test_exception_marks_error_and_reraises(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)
    with (
        pytest.raises(ValueError, match="model exploded"),
        engine.tracer.trace("chat", tenant_id=dest.tenant_id) as trace,
        trace.observation("chat", kind="generation"),
    ):
        raise ValueError("model exploded")
    assert engine.flush(5.0)
    spans = fake_langfuse.wait_for_spans(2, project_id=dest.project_id)
    for span in spans:
        assert span["end_time_unix_nano"] >= span["start_time_unix_nano"] > 0
        assert span["attributes"]["langfuse.observation.level"] == "ERROR"
        assert span["attributes"]["langfuse.observation.status_message"] == (
            "ValueError: model exploded"
        )


def test_abandoned_generator_still_ends_spans(
    engine: TracingEngine, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    dest = project(fake_langfuse, source)
    engine.invalidate(dest.tenant_id)

    def stream() -> Iterator[str]:
        with (
            engine.tracer.trace("chat", tenant_id=dest.tenant_id) as trace,
            trace.observation("chat", kind="generation") as generation,
        ):
            for token in ("a", "b", "c", "d"):
                generation.update(output=token)
                yield token

    tokens = stream()
    assert next(tokens) == "a"
    assert next(tokens) == "b"
    tokens.close()  # the client went away mid-stream
    assert engine.flush(5.0)
    spans = fake_langfuse.wait_for_spans(2, project_id=dest.project_id)
    assert {span["name"] for span in spans} == {"ragflow-chat", "chat"}
    generation = next(s for s in spans if s["name"] == "chat")["attributes"]
    assert generation["langfuse.observation.level"] == "WARNING"
    assert generation["langfuse.observation.status_message"].startswith("cancelled")
    assert generation["langfuse.observation.output"] == "b"
