"""RAGFlow's completion routes with the built-in models and an OpenAI-compatible provider."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.chat_support import ChatApi, sse_payloads
from tests.api.rag_support import MISSING_ID, fail_fast_models
from tests.api.trace_support import add_model
from tests.conftest import Accounts
from tests.support.openai_server import FakeOpenAI

VACATION = "How many days of paid vacation do employees get?"
FAKE_MODEL = "fake-chat@OpenAI-API-Compatible"


@pytest.fixture
def api(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("owner@example.com"), state)


@pytest.fixture
def other(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("other@example.com"), state)


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-test", reply="Vacation is 25 days per year [ID:0].") as server:
        yield server


@pytest.fixture
def fake_model(
    api: ChatApi, state: Runtime, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The fake provider's chat model added for the tenant, with a short timeout and no retries."""
    fail_fast_models(state, monkeypatch, timeout=0.5)
    add_model(api.client, api.headers, openai_server.url, "fake-chat", "chat")
    return FAKE_MODEL


def _answers(payloads: list[Any]) -> list[dict[str, Any]]:
    assert payloads[-1] == {"code": 0, "message": "", "data": True}
    return [p["data"] for p in payloads[:-1]]


def test_answer_cites_the_right_chunk(api: ChatApi) -> None:
    chat_id, document_id = api.knowledge_chat()
    data = api.ask(chat_id, VACATION)
    assert "25 days" in data["answer"]
    cited = {int(n) for n in re.findall(r"\[ID:(\d+)\]", data["answer"])}
    assert cited
    chunks = data["reference"]["chunks"]
    assert all("vacation" in chunks[i]["content"].lower() for i in cited)
    assert chunks[0]["document_id"] == document_id
    assert chunks[0]["document_name"] == "handbook.txt"
    assert {"id", "content", "dataset_id", "similarity", "positions"} <= chunks[0].keys()
    assert data["reference"]["doc_aggs"] == [
        {"doc_name": "handbook.txt", "doc_id": document_id, "count": 1}
    ]
    assert data["audio_binary"] is None
    assert len(data["id"]) == 32
    assert "{knowledge}" not in data["prompt"]
    assert "ID: 0" in data["prompt"]
    session = api.session(chat_id, data["session_id"])
    roles = [(m["role"], m["content"]) for m in session["messages"]]
    assert roles[1:] == [("user", VACATION), ("assistant", data["answer"])]
    assert session["messages"][2]["id"] == data["id"]
    assert session["messages"][2]["reference"] == chunks


def _joined(answers: list[dict[str, Any]]) -> str:
    """What a client that does ``full += delta`` shows."""
    full = ""
    for answer in answers:
        full += answer["answer"]
    return full


@pytest.mark.parametrize("route", ["/chats/{chat_id}/completions", "/chat/completions"])
def test_stream_sends_deltas_then_a_final_event_with_the_reference(
    api: ChatApi, route: str
) -> None:
    chat_id, document_id = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    body: dict[str, Any] = {"question": VACATION, "session_id": session_id}  # stream: true
    if route == "/chat/completions":
        body |= {"chat_id": chat_id}
    answers = _answers(api.ask_stream(route.format(chat_id=chat_id), body))
    *deltas, final = answers
    assert len(deltas) > 2
    assert all(a["final"] is False and a["reference"] == {} for a in deltas)
    assert all(a["answer"] for a in deltas)
    # Each event carries only its new text: no event repeats the one before it.
    assert not any(b["answer"].startswith(a["answer"]) for a, b in itertools.pairwise(deltas))
    assert final["final"] is True
    assert final["answer"] == ""
    assert final["reference"]["doc_aggs"][0]["doc_id"] == document_id
    assert "{knowledge}" not in final["prompt"]
    assert final["created_at"] > 0
    assert all(a["session_id"] == session_id and a["id"] == final["id"] for a in answers)
    full = _joined(answers)
    assert "25 days" in full
    assert "[ID:0]" in full
    assert full == api.ask(chat_id, VACATION, session_id=session_id)["answer"]
    stored = api.session(chat_id, session_id)["messages"][-3]
    assert stored == stored | {"id": final["id"], "role": "assistant", "content": full}


@pytest.mark.parametrize("route", ["/chats/{chat_id}/completions", "/chat/completions"])
def test_legacy_stream_sends_the_answer_so_far(api: ChatApi, route: str) -> None:
    chat_id, document_id = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    body: dict[str, Any] = {"question": VACATION, "session_id": session_id, "legacy": True}
    if route == "/chat/completions":
        body |= {"chat_id": chat_id}
    answers = _answers(api.ask_stream(route.format(chat_id=chat_id), body))
    assert len(answers) > 2
    texts = [a["answer"] for a in answers]
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(texts))
    assert all("final" not in a for a in answers)
    assert answers[0]["reference"] == {}
    final = answers[-1]
    assert "[ID:0]" in final["answer"]
    assert final["reference"]["doc_aggs"][0]["doc_id"] == document_id
    stored = api.session(chat_id, session_id)["messages"][-1]
    assert stored == stored | {"id": final["id"], "role": "assistant", "content": final["answer"]}


def test_streamed_opener_in_both_forms(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    opener = "Hi! I'm your assistant. What can I do for you?"
    deltas = _answers(api.ask_stream(f"/chats/{chat_id}/completions", {}))
    assert [(a["answer"], a["final"]) for a in deltas] == [(opener, False), ("", True)]
    legacy = _answers(api.ask_stream(f"/chats/{chat_id}/completions", {"legacy": True}))
    assert [a["answer"] for a in legacy] == [opener]


def test_completion_body_with_only_a_question(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    data = api.ok(
        "POST",
        "/chat/completions",
        json={"chat_id": chat_id, "question": VACATION, "stream": False},
    )
    assert "25 days" in data["answer"]
    streamed = _answers(api.ask_stream("/chat/completions", {"question": VACATION}))
    assert streamed[-1]["final"] is True
    assert _joined(streamed)
    bad = api.call("POST", "/chat/completions", json={"question": 3, "stream": False})
    assert bad["code"] == 101
    assert "question" in bad["message"]


def test_empty_response_when_nothing_is_retrieved(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat(prompt={"empty_response": "Nothing found."})
    data = api.ask(chat_id, "quantum chromodynamics lattice gauge")
    assert data["answer"] == "Nothing found."
    assert data["reference"]["chunks"] == []
    streamed = _answers(
        api.ask_stream(f"/chats/{chat_id}/completions", {"question": "zebra migration"})
    )
    assert _joined(streamed) == "Nothing found."
    assert streamed[-1]["final"] is True


def test_without_empty_response_the_model_answers(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat(prompt={"empty_response": ""})
    data = api.ask(chat_id, "quantum chromodynamics lattice gauge")
    assert "not found in the knowledge base" in data["answer"]


def test_sessions_are_created_and_continued(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    opener = api.ok("POST", f"/chats/{chat_id}/completions", json={"stream": False})
    assert opener["answer"] == "Hi! I'm your assistant. What can I do for you?"
    assert opener["id"] is None
    assert len(opener["session_id"]) == 32
    first = api.ask(chat_id, VACATION, user_id="ext-42")
    assert first["session_id"] != opener["session_id"]
    assert api.session(chat_id, first["session_id"])["user_id"] == "ext-42"
    second = api.ask(chat_id, "Who cleans the coffee machine?", session_id=first["session_id"])
    assert second["session_id"] == first["session_id"]
    assert "Friday" in second["answer"]
    messages = api.session(chat_id, first["session_id"])["messages"]
    assert [m["role"] for m in messages] == ["assistant", "user", "assistant", "user", "assistant"]
    blank = api.call(
        "POST",
        f"/chats/{chat_id}/completions",
        json={"question": " ", "session_id": first["session_id"]},
    )
    assert blank["code"] == 102
    assert "question" in blank["message"]


def test_chat_completions_route(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    messages = [{"role": "assistant", "content": "Hi!"}, {"role": "user", "content": VACATION}]
    data = api.ok(
        "POST",
        "/chat/completions",
        json={"chat_id": chat_id, "messages": messages, "stream": False},
    )
    assert "25 days" in data["answer"]
    assert data["reference"]["chunks"]
    assert api.session(chat_id, data["session_id"])["messages"][-1]["content"] == data["answer"]
    followed = api.ok(
        "POST",
        "/chat/completions",
        json={
            "chat_id": chat_id,
            "session_id": data["session_id"],
            "messages": messages,
            "stream": False,
        },
    )
    assert followed["session_id"] == data["session_id"]
    plain = api.ok("POST", "/chat/completions", json={"messages": messages, "stream": False})
    assert plain["session_id"] == ""
    assert plain["reference"]["chunks"] == []
    streamed = _answers(
        api.ask_stream("/chat/completions", {"chat_id": chat_id, "messages": messages})
    )
    assert "[ID:0]" in _joined(streamed)
    not_user = api.call("POST", "/chat/completions", json={"messages": messages[:1]})
    assert not_user["code"] == 102
    assert "not from user" in not_user["message"]
    missing = api.call("POST", "/chat/completions", json={"chat_id": chat_id})
    assert missing["code"] == 101
    assert "messages" in missing["message"]


def test_provider_answer_and_stream(
    api: ChatApi, fake_model: str, openai_server: FakeOpenAI
) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model, "temperature": 0.2})
    data = api.ask(chat_id, VACATION)
    assert data["answer"] == "Vacation is 25 days per year [ID:0]."
    sent = openai_server.requests_to("chat")[-1].json
    assert sent["model"] == "fake-chat"
    assert sent["temperature"] == 0.2
    assert sent["messages"][0]["role"] == "system"
    assert "25 days" in sent["messages"][0]["content"]
    assert sent["messages"][-1] == {"role": "user", "content": VACATION}
    answers = _answers(api.ask_stream(f"/chats/{chat_id}/completions", {"question": VACATION}))
    assert _joined(answers) == data["answer"]
    assert answers[-1]["reference"]["chunks"]
    assert openai_server.requests_to("chat")[-1].json["stream_options"] == {"include_usage": True}


def test_provider_timeout_is_105(api: ChatApi, fake_model: str, openai_server: FakeOpenAI) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model})
    session_id = api.new_session(chat_id)["id"]
    openai_server.hang(endpoints="chat")
    result = api.call(
        "POST",
        f"/chats/{chat_id}/completions",
        json={"question": VACATION, "stream": False, "session_id": session_id},
    )
    assert result["code"] == 105, result
    payloads = api.ask_stream(
        f"/chats/{chat_id}/completions", {"question": VACATION, "session_id": session_id}
    )
    assert payloads[-1] == {"code": 0, "message": "", "data": True}
    error = payloads[-2]
    assert error["code"] == 105
    assert error["message"]
    assert error["data"]["answer"].startswith("**ERROR**")
    openai_server.clear_faults()
    stored = api.session(chat_id, session_id)["messages"][-1]
    assert stored["role"] == "assistant"
    assert stored["status"] == "error"
    assert stored["content"] == ""


def test_stream_broken_midway_keeps_the_partial_answer(
    api: ChatApi, fake_model: str, openai_server: FakeOpenAI
) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": fake_model})
    session_id = api.new_session(chat_id)["id"]
    openai_server.break_stream_after(4)  # the role chunk and three words
    payloads = api.ask_stream(
        f"/chats/{chat_id}/completions", {"question": VACATION, "session_id": session_id}
    )
    answers = _answers(payloads)
    assert _joined(answers[:-1]) == "Vacation is 25 "
    assert payloads[-2]["code"] == 105
    assert "**ERROR**" in answers[-1]["answer"]
    stored = api.session(chat_id, session_id)["messages"][-1]
    assert stored["content"] == "Vacation is 25 "
    assert stored["status"] == "error"


def test_client_disconnect_keeps_the_produced_text(api: ChatApi, client: TestClient) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    full = api.ask(chat_id, VACATION)["answer"]
    body = {"question": VACATION, "session_id": session_id}
    with client.stream(
        "POST", f"/api/v1/chats/{chat_id}/completions", headers=api.headers, json=body
    ) as r:
        lines = r.iter_lines()
        first = sse_payloads([next(lines)])[0]
    seen = first["data"]["answer"]
    stored = api.session(chat_id, session_id)["messages"][-1]
    assert stored["role"] == "assistant"
    assert stored["status"] == "disconnected"
    assert stored["content"].startswith(seen)
    assert len(stored["content"]) < len(full)
    assert full.startswith(stored["content"])
    # The server carries on normally.
    assert client.get("/api/v1/system/healthz").status_code == 200
    assert "25 days" in api.ask(chat_id, VACATION, session_id=session_id)["answer"]


def test_tenant_isolation(api: ChatApi, other: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    session_id = api.new_session(chat_id)["id"]
    for path, body in [
        (f"/chats/{chat_id}/completions", {"question": VACATION, "stream": False}),
        (f"/chats/{chat_id}/completions", {"question": VACATION, "stream": True}),
        (
            "/chat/completions",
            {"chat_id": chat_id, "messages": [{"role": "user", "content": "hi"}]},
        ),
    ]:
        result = other.call("POST", path, json=body)
        assert result["code"] == 102, (path, result)
    own_chat = other.chat("mine")["id"]
    result = other.call(
        "POST", f"/chats/{own_chat}/completions", json={"question": "hi", "session_id": session_id}
    )
    assert result["code"] == 102
    assert (
        other.call("POST", f"/chats/{MISSING_ID}/completions", json={"question": "x"})["code"]
        == 102
    )
    assert len(api.session(chat_id, session_id)["messages"]) == 1
