"""Completions traced as ``ragflow-chat`` into the tenant's Langfuse project (FakeLangfuse)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.chat_support import ChatApi, sse_payloads
from tests.api.rag_support import fail_fast_models
from tests.api.trace_support import add_model, trace_spans, traced
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse
from tests.support.openai_server import FakeOpenAI

VACATION = "How many days of paid vacation do employees get?"
FAKE_MODEL = "fake-chat@OpenAI-API-Compatible"
TYPE = "langfuse.observation.type"
CHAT_TREE = {
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


@pytest.fixture
def api(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("owner@example.com"), state)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-test", reply="Vacation is 25 days per year [ID:0].") as server:
        yield server


@pytest.fixture
def fake_model(
    api: ChatApi, state: Runtime, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The fake provider's chat model added for the tenant (short timeout, no retries)."""
    fail_fast_models(state, monkeypatch, timeout=0.5)
    add_model(api.client, api.headers, openai_server.url, "fake-chat", "chat")
    return FAKE_MODEL


def attr(span: dict[str, Any], key: str) -> Any:
    return span["attributes"].get(key)


def value(span: dict[str, Any], key: str) -> Any:
    """An attribute decoded: JSON text parsed, plain strings as they are."""
    raw = attr(span, key)
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def test_non_stream_completion_is_one_chat_trace(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, fake_model: str
) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model, "temperature": 0.3})
    session_id = api.new_session(chat_id, user_id="client-user-7")["id"]
    project_id = traced(api, fake_langfuse)
    response = api.client.post(
        f"/api/v1/chats/{chat_id}/completions",
        headers=api.headers,
        json={"question": VACATION, "stream": False, "session_id": session_id},
    )
    data = response.json()["data"]
    trace_id = data["trace_id"]
    assert response.headers["X-Trace-Id"] == trace_id
    assert data["trace_url"].endswith(f"/project/{project_id}/traces/{trace_id}")

    spans = trace_spans(state, fake_langfuse, project_id, trace_id, 5)
    assert fake_langfuse.span_tree(trace_id, project_id) == CHAT_TREE
    dataset_ids = api.client.get(f"/api/v1/chats?id={chat_id}", headers=api.headers).json()["data"][
        0
    ]["dataset_ids"]
    dataset = api.client.get(f"/api/v1/datasets?id={dataset_ids[0]}", headers=api.headers)
    embedding = dataset.json()["data"][0]["embedding_model"]
    types = {name: attr(span, TYPE) for name, span in spans.items()}
    assert types == {
        "ragflow-chat": "span",
        "retrieval": "retriever",
        "embed-query": "embedding",
        "search": "span",
        "chat": "generation",
    }
    root, generation = spans["ragflow-chat"], spans["chat"]
    assert value(root, "langfuse.observation.input") == VACATION
    assert value(root, "langfuse.observation.output") == data["answer"]
    for span in spans.values():  # trace attributes on every span
        assert attr(span, "langfuse.trace.name") == "ragflow-chat"
        assert attr(span, "session.id") == session_id
        assert attr(span, "user.id") == "client-user-7"
        # the assistant, then every model used: chat, then the datasets' embedding model
        assert list(attr(span, "langfuse.trace.tags")) == ["helpdesk", FAKE_MODEL, embedding]
        assert value(span, "langfuse.trace.metadata.chat_id") == chat_id
        assert value(span, "langfuse.trace.metadata.message_id") == data["id"]
        assert value(span, "langfuse.trace.metadata.tenant_id")
        assert len(value(span, "langfuse.trace.metadata.dataset_ids")) == 1
        assert span["end_time_unix_nano"] >= span["start_time_unix_nano"] > 0

    assert attr(generation, "langfuse.observation.model.name") == "fake-chat"
    usage = value(generation, "langfuse.observation.usage_details")
    assert usage["input"] > 0
    assert usage["output"] > 0
    assert usage["total"] == usage["input"] + usage["output"]
    parameters = value(generation, "langfuse.observation.model.parameters")
    assert parameters["temperature"] == 0.3
    assert {"top_p", "presence_penalty", "frequency_penalty"} <= parameters.keys()
    prompt = value(generation, "langfuse.observation.input")
    assert [m["role"] for m in prompt] == ["system", "user"]
    assert prompt[-1]["content"] == VACATION
    assert value(generation, "langfuse.observation.output") == data["answer"]
    assert attr(generation, "langfuse.observation.level") is None

    stored = api.session(chat_id, session_id)["messages"][-1]
    assert stored["id"] == data["id"]
    assert stored["trace_id"] == trace_id


def test_stream_completion_trace_and_ids_in_every_event(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, fake_model: str
) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model})
    project_id = traced(api, fake_langfuse)
    with api.client.stream(
        "POST",
        f"/api/v1/chats/{chat_id}/completions",
        headers=api.headers,
        json={"question": VACATION},
    ) as r:
        header = r.headers["X-Trace-Id"]
        payloads = sse_payloads(r.iter_lines())
    assert payloads[-1]["data"] is True
    answers = [p["data"] for p in payloads[:-1]]
    assert len(answers) > 2
    assert {a["trace_id"] for a in answers} == {header}
    assert all(a["trace_url"].endswith(f"/traces/{header}") for a in answers)

    spans = trace_spans(state, fake_langfuse, project_id, header, 5)
    assert fake_langfuse.span_tree(header, project_id) == CHAT_TREE
    user_id = attr(spans["ragflow-chat"], "user.id")
    assert user_id
    assert "@" not in user_id
    generation = spans["chat"]
    assert attr(generation, TYPE) == "generation"
    assert attr(generation, "langfuse.observation.completion_start_time")
    usage = value(generation, "langfuse.observation.usage_details")
    assert usage["total"] == usage["input"] + usage["output"] > 0
    assert value(generation, "langfuse.observation.output") == "".join(a["answer"] for a in answers)
    session_id = answers[-1]["session_id"]
    assert api.session(chat_id, session_id)["messages"][-1]["trace_id"] == header


def test_provider_failure_marks_the_generation_error(
    api: ChatApi,
    state: Runtime,
    fake_langfuse: FakeLangfuse,
    fake_model: str,
    openai_server: FakeOpenAI,
) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model})
    project_id = traced(api, fake_langfuse)
    openai_server.break_stream_after(4)
    with api.client.stream(
        "POST",
        f"/api/v1/chats/{chat_id}/completions",
        headers=api.headers,
        json={"question": VACATION},
    ) as r:
        trace_id = r.headers["X-Trace-Id"]
        payloads = sse_payloads(r.iter_lines())
    assert payloads[-2]["code"] != 0
    assert payloads[-2]["data"]["trace_id"] == trace_id
    spans = trace_spans(state, fake_langfuse, project_id, trace_id, 5)
    generation = spans["chat"]
    assert attr(generation, "langfuse.observation.level") == "ERROR"
    assert attr(generation, "langfuse.observation.status_message")
    assert generation["end_time_unix_nano"] > 0


def test_client_disconnect_still_ends_the_generation(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, client: TestClient
) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    project_id = traced(api, fake_langfuse)
    body = {"question": VACATION, "session_id": session_id}
    with client.stream(
        "POST", f"/api/v1/chats/{chat_id}/completions", headers=api.headers, json=body
    ) as r:
        trace_id = r.headers["X-Trace-Id"]
        first = sse_payloads([next(r.iter_lines())])[0]
    assert first["data"]["trace_id"] == trace_id
    stored = api.session(chat_id, session_id)["messages"][-1]
    assert stored["status"] == "disconnected"
    assert stored["trace_id"] == trace_id

    spans = trace_spans(state, fake_langfuse, project_id, trace_id, 5)
    assert fake_langfuse.span_tree(trace_id, project_id) == CHAT_TREE
    generation = spans["chat"]
    assert generation["end_time_unix_nano"] >= generation["start_time_unix_nano"] > 0
    assert attr(generation, "langfuse.observation.level") == "WARNING"
    assert value(spans["ragflow-chat"], "langfuse.observation.output") == (stored["content"])


def test_empty_response_path_ends_the_trace(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    chat_id, _ = api.knowledge_chat(prompt={"empty_response": "Nothing found."})
    project_id = traced(api, fake_langfuse)
    response = api.client.post(
        f"/api/v1/chats/{chat_id}/completions",
        headers=api.headers,
        json={"question": "zebra migration", "stream": False},
    )
    data = response.json()["data"]
    assert data["answer"] == "Nothing found."
    spans = trace_spans(state, fake_langfuse, project_id, data["trace_id"], 4)
    assert set(spans) == {"ragflow-chat", "retrieval", "embed-query", "search"}
    assert value(spans["ragflow-chat"], "langfuse.observation.output") == ("Nothing found.")


@pytest.mark.parametrize("stream", [False, True])
def test_openai_route_carries_the_trace_id(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, stream: bool
) -> None:
    chat_id, _ = api.knowledge_chat()
    project_id = traced(api, fake_langfuse)
    body = {"model": "m", "messages": [{"role": "user", "content": VACATION}], "stream": stream}
    path = f"/api/v1/chats_openai/{chat_id}/chat/completions"
    if stream:
        with api.client.stream("POST", path, headers=api.headers, json=body) as r:
            trace_id = r.headers["X-Trace-Id"]
            chunks = sse_payloads(r.iter_lines())
        assert chunks[-1] == "[DONE]"
        assert {c["trace_id"] for c in chunks[:-1]} == {trace_id}
        assert all(c["trace_url"].endswith(trace_id) for c in chunks[:-1])
    else:
        response = api.client.post(path, headers=api.headers, json=body)
        completion = response.json()
        assert completion["object"] == "chat.completion"
        trace_id = completion["trace_id"]
        assert response.headers["X-Trace-Id"] == trace_id
        assert completion["trace_url"].endswith(f"/project/{project_id}/traces/{trace_id}")
    spans = trace_spans(state, fake_langfuse, project_id, trace_id, 5)
    assert fake_langfuse.span_tree(trace_id, project_id) == CHAT_TREE
    assert attr(spans["ragflow-chat"], "session.id") is None


@pytest.mark.parametrize("thumbup", [True, False])
def test_feedback_becomes_a_score_on_the_trace(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, thumbup: bool
) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    project_id = traced(api, fake_langfuse)
    data = api.ask(chat_id, VACATION, session_id=session_id)
    path = f"/chats/{chat_id}/sessions/{session_id}/messages/{data['id']}/feedback"
    api.ok("PUT", path, json={"thumbup": thumbup, "feedback": "spot on"})

    assert state.tracing.flush(5.0)
    (score,) = fake_langfuse.wait_for_scores(1, project_id=project_id)
    assert score["traceId"] == data["trace_id"]
    assert score["name"] == "user-feedback"
    assert score["dataType"] == "BOOLEAN"
    assert score["value"] == (1 if thumbup else 0)
    assert score["comment"] == "spot on"


def test_without_tracing_responses_have_no_trace_fields(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    response = api.client.post(
        f"/api/v1/chats/{chat_id}/completions",
        headers=api.headers,
        json={"question": VACATION, "stream": False, "session_id": session_id},
    )
    data = response.json()["data"]
    assert "25 days" in data["answer"]
    assert "X-Trace-Id" not in response.headers
    assert data.get("trace_id") is None
    assert data.get("trace_url") is None
    answers = api.ask_stream(f"/chats/{chat_id}/completions", {"question": VACATION})
    assert all("trace_id" not in p["data"] for p in answers[:-1])
    body = {"messages": [{"role": "user", "content": VACATION}], "stream": False}
    completion = api.client.post(
        f"/api/v1/openai/{chat_id}/chat/completions", headers=api.headers, json=body
    ).json()
    assert completion.get("trace_id") is None
    # Feedback on an untraced answer sends nothing.
    path = f"/chats/{chat_id}/sessions/{session_id}/messages/{data['id']}/feedback"
    api.ok("PUT", path, json={"thumbup": True})
    assert state.tracing.flush(5.0)
    assert fake_langfuse.scores() == []
    assert fake_langfuse.spans() == []


def test_failed_stream_marks_the_root_span_error(
    api: ChatApi,
    state: Runtime,
    fake_langfuse: FakeLangfuse,
    fake_model: str,
    openai_server: FakeOpenAI,
) -> None:
    """As a failed non-streamed answer does: the trace itself shows the failure."""
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model})
    project_id = traced(api, fake_langfuse)
    openai_server.break_stream_after(4)
    with api.client.stream(
        "POST",
        f"/api/v1/chats/{chat_id}/completions",
        headers=api.headers,
        json={"question": VACATION},
    ) as r:
        trace_id = r.headers["X-Trace-Id"]
        payloads = sse_payloads(r.iter_lines())
    assert payloads[-2]["code"] != 0
    root = trace_spans(state, fake_langfuse, project_id, trace_id, 5)["ragflow-chat"]
    assert attr(root, "langfuse.observation.level") == "ERROR"
    assert attr(root, "langfuse.observation.status_message")
    assert root["status"]["code"] == 2  # STATUS_CODE_ERROR


def test_client_disconnect_records_estimated_usage_and_cost(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, client: TestClient
) -> None:
    """The provider billed the prompt and what was streamed before the client left."""
    chat_id, _ = api.knowledge_chat()
    project_id = traced(api, fake_langfuse)
    with client.stream(
        "POST",
        f"/api/v1/chats/{chat_id}/completions",
        headers=api.headers,
        json={"question": VACATION},
    ) as r:
        trace_id = r.headers["X-Trace-Id"]
        next(r.iter_lines())
    generation = trace_spans(state, fake_langfuse, project_id, trace_id, 5)["chat"]
    assert attr(generation, "langfuse.observation.level") == "WARNING"
    usage = value(generation, "langfuse.observation.usage_details")
    assert usage["input"] > 0
    assert usage["total"] == usage["input"] + usage["output"]
    assert value(generation, "langfuse.observation.metadata.usage_estimated") is True
    cost = value(generation, "langfuse.observation.cost_details")
    assert cost == {"input": 0, "output": 0, "total": 0}  # the built-in model is free


@pytest.mark.parametrize("route", ["ragflow", "openai"])
def test_failed_non_stream_completion_returns_its_trace(
    api: ChatApi,
    state: Runtime,
    fake_langfuse: FakeLangfuse,
    fake_model: str,
    openai_server: FakeOpenAI,
    route: str,
) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model})
    project_id = traced(api, fake_langfuse)
    openai_server.hang(endpoints="chat")
    if route == "ragflow":
        response = api.client.post(
            f"/api/v1/chats/{chat_id}/completions",
            headers=api.headers,
            json={"question": VACATION, "stream": False},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["code"] == 105
        fields = body["data"]
    else:
        response = api.client.post(
            f"/api/v1/openai/{chat_id}/chat/completions",
            headers=api.headers,
            json={
                "model": "m",
                "messages": [{"role": "user", "content": VACATION}],
                "stream": False,
            },
        )
        assert response.status_code == 502
        body = response.json()
        assert body["error"]["code"] == 105
        fields = body
    openai_server.clear_faults()
    trace_id = response.headers["X-Trace-Id"]
    assert fields["trace_id"] == trace_id
    assert fields["trace_url"].endswith(f"/project/{project_id}/traces/{trace_id}")
    root = trace_spans(state, fake_langfuse, project_id, trace_id, 5)["ragflow-chat"]
    assert attr(root, "langfuse.observation.level") == "ERROR"
