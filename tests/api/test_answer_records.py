"""Answer records made by real completions, read through the inspect route (issue 11).

The record must hold the figures the trace holds (one recorder feeds both), follow the
tenant's capture option, exist without Langfuse, and stay within its tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.chat_support import ChatApi, sse_payloads
from tests.api.rag_support import MISSING_ID, fail_fast_models
from tests.api.trace_support import COST, INPUT, MODEL, USAGE, add_model, trace_spans, value
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse
from tests.support.openai_server import FakeOpenAI

VACATION = "How many days of paid vacation do employees get?"
FAKE_MODEL = "fake-chat@OpenAI-API-Compatible"
STEPS = ["retrieval", "embed-query", "search", "chat"]


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
    """The fake provider's chat model, priced, added for the tenant (fails fast)."""
    fail_fast_models(state, monkeypatch, timeout=0.5)
    add_model(
        api.client, api.headers, openai_server.url, "fake-chat", "chat",
        input_price=0.15, output_price=0.6,
    )  # fmt: skip
    return FAKE_MODEL


def connect_langfuse(api: ChatApi, lf: FakeLangfuse, **options: Any) -> str:
    """The tenant's Langfuse project on the test server, with ``options``; its id."""
    public, secret = f"pk-lf-{uuid.uuid4()}", f"sk-lf-{uuid.uuid4()}"
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    lf.add_project(public, secret, project_id=project_id)
    body = {"public_key": public, "secret_key": secret, "host": lf.url, **options}
    assert api.call("PUT", "/langfuse/api-key", json=body)["code"] == 0
    return project_id


def inspect_path(chat_id: str, session_id: str, message_id: str) -> str:
    return f"/chats/{chat_id}/sessions/{session_id}/messages/{message_id}/inspect"


def inspect(api: ChatApi, chat_id: str, session_id: str, message_id: str) -> dict[str, Any]:
    data: dict[str, Any] = api.ok("GET", inspect_path(chat_id, session_id, message_id))
    return data


def stream(api: ChatApi, chat_id: str, session_id: str) -> list[Any]:
    body = {"question": VACATION, "session_id": session_id}
    return api.ask_stream(f"/chats/{chat_id}/completions", body)


def span_ms(span: dict[str, Any]) -> float:
    return float(span["end_time_unix_nano"] - span["start_time_unix_nano"]) / 1e6


def test_non_stream_record_holds_the_trace_figures(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, fake_model: str
) -> None:
    chat_id, document_id = api.knowledge_chat(llm={"model_name": fake_model})
    session_id = api.new_session(chat_id)["id"]
    project_id = connect_langfuse(api, fake_langfuse)
    data = api.ask(chat_id, VACATION, session_id=session_id)
    record = inspect(api, chat_id, session_id, data["id"])
    spans = trace_spans(state, fake_langfuse, project_id, data["trace_id"], 5)

    assert record["trace_id"] == data["trace_id"]
    assert record["trace_url"] == data["trace_url"]
    assert record["status"] == "done"
    assert record["capture"] == "full"
    assert [s["name"] for s in record["steps"]] == STEPS
    steps = {s["name"]: s for s in record["steps"]}
    assert steps["embed-query"]["parent"] == steps["search"]["parent"] == "retrieval"
    assert steps["chat"]["parent"] is None
    assert steps["chat"]["type"] == "generation"
    retrieval_end = steps["retrieval"]["start_ms"] + steps["retrieval"]["duration_ms"]
    assert steps["chat"]["start_ms"] >= retrieval_end
    assert record["total_ms"] >= steps["chat"]["start_ms"] + steps["chat"]["duration_ms"]
    # Each step is timed just after its span starts and just after it ends.
    for name, step in steps.items():
        assert step["status"] == "ok"
        assert step["duration_ms"] >= 0
        started = record["started_at"] + step["start_ms"] / 1e3
        assert started * 1e9 >= spans[name]["start_time_unix_nano"] - 1e3  # float rounding

    # Models, tokens and cost: the very figures of the trace.
    models = {m["step"]: m for m in record["models"]}
    generation = spans["chat"]
    usage, cost = value(generation, USAGE), value(generation, COST)
    assert models["chat"]["model"] == value(generation, MODEL) == "fake-chat"
    assert (models["chat"]["input_tokens"], models["chat"]["output_tokens"]) == (
        usage["input"],
        usage["output"],
    )
    assert models["chat"]["cost"] == cost
    assert models["chat"]["usage_estimated"] is False
    embed = value(spans["embed-query"], USAGE)
    assert models["embed-query"]["input_tokens"] == embed["input"]
    assert record["input_tokens"] == usage["input"] + embed["input"]
    assert record["output_tokens"] == usage["output"]
    assert record["cost"] == pytest.approx(cost["total"])
    assert record["model"] == "fake-chat"
    assert record["first_token_ms"] is None  # not streamed

    # The prompt that was sent, and the chunks with their similarity split.
    assert record["prompt"] == value(generation, INPUT)
    assert record["prompt"][-1] == {"role": "user", "content": VACATION}
    (chunk,) = record["chunks"]
    assert chunk["cited"] is True
    assert chunk["document_id"] == document_id
    assert chunk["document_name"] == "handbook.txt"
    assert "25 days" in chunk["content"]
    assert chunk["similarity"] > 0
    assert {"vector_similarity", "term_similarity"} <= chunk.keys()


def test_stream_record_has_the_first_token_time(
    api: ChatApi, state: Runtime, fake_langfuse: FakeLangfuse, fake_model: str
) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model})
    session_id = api.new_session(chat_id)["id"]
    project_id = connect_langfuse(api, fake_langfuse)
    answers = stream(api, chat_id, session_id)
    last = answers[-2]["data"]
    record = inspect(api, chat_id, session_id, last["id"])
    spans = trace_spans(state, fake_langfuse, project_id, last["trace_id"], 5)

    assert record["status"] == "done"
    chat = next(s for s in record["steps"] if s["name"] == "chat")
    assert record["first_token_ms"] == chat["first_token_ms"]
    assert chat["start_ms"] <= chat["first_token_ms"] <= chat["start_ms"] + chat["duration_ms"]
    # The same instant as the generation's completion_start_time in the trace.
    start = datetime.fromisoformat(
        value(spans["chat"], "langfuse.observation.completion_start_time")
    )
    assert record["started_at"] + record["first_token_ms"] / 1e3 == pytest.approx(
        start.timestamp(), abs=1e-3
    )
    usage = value(spans["chat"], USAGE)
    (model,) = [m for m in record["models"] if m["step"] == "chat"]
    assert (model["input_tokens"], model["output_tokens"]) == (usage["input"], usage["output"])


def test_failed_stream_is_recorded_as_an_error(
    api: ChatApi, fake_model: str, openai_server: FakeOpenAI
) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model})
    session_id = api.new_session(chat_id)["id"]
    openai_server.break_stream_after(4)
    payloads = stream(api, chat_id, session_id)
    assert payloads[-2]["code"] != 0
    message = api.session(chat_id, session_id)["messages"][-1]
    assert message["status"] == "error"
    record = inspect(api, chat_id, session_id, message["id"])
    assert record["status"] == "error"
    chat = next(s for s in record["steps"] if s["name"] == "chat")
    assert chat["status"] == "error"
    assert record["trace_id"] is None


def test_disconnected_stream_is_recorded(api: ChatApi, client: TestClient) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    body = {"question": VACATION, "session_id": session_id}
    path = f"/api/v1/chats/{chat_id}/completions"
    with client.stream("POST", path, headers=api.headers, json=body) as r:
        first = sse_payloads([next(r.iter_lines())])[0]
    message = api.session(chat_id, session_id)["messages"][-1]
    assert message["status"] == "disconnected"
    assert message["id"] == first["data"]["id"]
    record = inspect(api, chat_id, session_id, message["id"])
    assert record["status"] == "disconnected"
    chat = next(s for s in record["steps"] if s["name"] == "chat")
    assert chat["status"] == "cancelled"
    assert chat["duration_ms"] is not None


def test_without_langfuse_the_record_keeps_everything(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    data = api.ask(chat_id, VACATION, session_id=session_id)
    record = inspect(api, chat_id, session_id, data["id"])
    assert record["trace_id"] is None
    assert record["trace_url"] is None
    assert [s["name"] for s in record["steps"]] == STEPS
    assert record["prompt"][-1]["content"] == VACATION
    assert record["chunks"][0]["content"]
    # The built-in models count tokens themselves and are free.
    (chat,) = [m for m in record["models"] if m["step"] == "chat"]
    assert chat["usage_estimated"] is True
    assert chat["output_tokens"] > 0
    assert record["cost"] == 0


def test_capture_metadata_keeps_no_texts(api: ChatApi, fake_langfuse: FakeLangfuse) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    connect_langfuse(api, fake_langfuse, capture="metadata")
    data = api.ask(chat_id, VACATION, session_id=session_id)
    record = inspect(api, chat_id, session_id, data["id"])
    assert record["capture"] == "metadata"
    assert record["prompt"] is None
    (chunk,) = record["chunks"]
    assert "content" not in chunk
    assert chunk["cited"] is True
    assert chunk["document_name"] == "handbook.txt"
    assert [s["name"] for s in record["steps"]] == STEPS
    assert record["output_tokens"] > 0


def test_a_foreign_or_missing_message_is_not_found(api: ChatApi, accounts: Accounts) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    data = api.ask(chat_id, VACATION, session_id=session_id)
    path = inspect_path(chat_id, session_id, data["id"])
    other = ChatApi(api.client, accounts.user("other@example.com"), api.state)
    foreign = other.call("GET", path)
    missing = api.call("GET", inspect_path(chat_id, session_id, MISSING_ID))
    assert foreign["code"] == missing["code"] == 102
    # Another tenant's own assistant and session do not open this message either.
    own_chat = other.chat("mine")["id"]
    own_session = other.new_session(own_chat)["id"]
    assert other.call("GET", inspect_path(own_chat, own_session, data["id"]))["code"] == 102
    # A question has no record.
    question = api.session(chat_id, session_id)["messages"][-2]
    assert question["role"] == "user"
    answer = api.call("GET", inspect_path(chat_id, session_id, question["id"]))
    assert answer["code"] == 102
    assert "message_id" in answer["message"]


def test_session_shows_ids_trace_links_and_feedback(
    api: ChatApi, fake_langfuse: FakeLangfuse
) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    connect_langfuse(api, fake_langfuse)
    data = api.ask(chat_id, VACATION, session_id=session_id)
    path = f"/chats/{chat_id}/sessions/{session_id}/messages/{data['id']}/feedback"
    api.ok("PUT", path, json={"thumbup": False, "feedback": "too short"})
    (found,) = api.ok("GET", f"/chats/{chat_id}/sessions", params={"id": session_id})
    answer = found["messages"][-1]
    assert answer["id"] == data["id"]
    assert answer["trace_id"] == data["trace_id"]
    assert answer["trace_url"] == data["trace_url"]
    assert (answer["thumbup"], answer["feedback"]) == (False, "too short")
    assert inspect(api, chat_id, session_id, data["id"])["thumbup"] is False


def test_deleting_a_session_deletes_its_records(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    api.ask(chat_id, VACATION, session_id=session_id)
    assert api.ok("GET", "/usage", params={"group_by": ""})["total"]["requests"] == 1
    api.ok("DELETE", f"/chats/{chat_id}/sessions", json={"ids": [session_id]})
    assert api.ok("GET", "/usage", params={"group_by": ""})["total"]["requests"] == 0
