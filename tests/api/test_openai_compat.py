"""OpenAI-compatible chat completions over an assistant, in OpenAI's exact shapes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.runtime import Runtime
from tests.api.chat_support import ChatApi, sse_payloads
from tests.api.rag_support import fail_fast_models
from tests.conftest import Accounts
from tests.support.openai_server import FakeOpenAI

VACATION = "How many days of paid vacation do employees get?"
ROUTES = ["/openai/{chat_id}/chat/completions", "/chats_openai/{chat_id}/chat/completions"]


@pytest.fixture
def api(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("owner@example.com"), state)


def _body(**fields: Any) -> dict[str, Any]:
    return {"model": "anything", "messages": [{"role": "user", "content": VACATION}], **fields}


def _stream(api: ChatApi, path: str, body: dict[str, Any]) -> list[Any]:
    with api.client.stream("POST", "/api/v1" + path, headers=api.headers, json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        return sse_payloads(r.iter_lines())


@pytest.mark.parametrize("route", ROUTES)
def test_non_stream_completion(api: ChatApi, route: str) -> None:
    chat_id, document_id = api.knowledge_chat()
    path = route.format(chat_id=chat_id)
    completion = api.client.post(
        "/api/v1" + path, headers=api.headers, json=_body(stream=False)
    ).json()
    assert completion["object"] == "chat.completion"
    assert completion["id"].startswith("chatcmpl-")
    assert isinstance(completion["created"], int)
    assert completion["model"] == "builtin-extractive"  # the model that answered
    (choice,) = completion["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert "25 days" in choice["message"]["content"]
    assert "reference" not in choice["message"]
    usage = completion["usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # extra_body.reference as RAGFlow documents it, or top level as OpenAI's clients send it.
    for extra in ({"extra_body": {"reference": True}}, {"reference": True}):
        referenced = api.client.post(
            "/api/v1" + path, headers=api.headers, json=_body(stream=False, **extra)
        ).json()
        reference = referenced["choices"][0]["message"]["reference"]
        assert reference["chunks"][0]["document_id"] == document_id


def test_stream_chunks_usage_and_done(api: ChatApi) -> None:
    chat_id, document_id = api.knowledge_chat()
    payloads = _stream(
        api, f"/openai/{chat_id}/chat/completions", _body(extra_body={"reference": True})
    )
    assert payloads[-1] == "[DONE]"
    chunks = payloads[:-1]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert len({c["created"] for c in chunks}) == 1
    assert all(len(c["choices"]) == 1 and c["choices"][0]["index"] == 0 for c in chunks)
    text = "".join(c["choices"][0]["delta"]["content"] or "" for c in chunks)
    assert "25 days" in text
    assert "[ID:0]" in text
    assert all(c["choices"][0]["finish_reason"] is None and c["usage"] is None for c in chunks[:-1])
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop"
    assert (
        last["usage"]["total_tokens"]
        == last["usage"]["prompt_tokens"] + last["usage"]["completion_tokens"]
    )
    assert last["choices"][0]["delta"]["reference"]["chunks"][0]["document_id"] == document_id


def test_history_and_validation(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    path = f"/api/v1/openai/{chat_id}/chat/completions"
    messages = [
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": VACATION},
        {"role": "assistant", "content": "25 days."},
        {"role": "user", "content": "Who cleans the coffee machine?"},
    ]
    completion = api.client.post(
        path, headers=api.headers, json={"messages": messages, "stream": False}
    ).json()
    assert "Friday" in completion["choices"][0]["message"]["content"]
    not_user = api.client.post(
        path, headers=api.headers, json={"messages": messages[:3], "stream": False}
    ).json()
    assert not_user["code"] == 102
    assert "not from user" in not_user["message"]
    empty = api.client.post(path, headers=api.headers, json={"messages": []}).json()
    assert empty["code"] == 101
    assert "messages" in empty["message"]
    assert api.ok("GET", f"/chats/{chat_id}/sessions") == []  # nothing stored


def test_provider_usage_and_errors(
    api: ChatApi, state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_fast_models(state, monkeypatch, timeout=0.5)
    with FakeOpenAI(api_key=None, reply="Twenty five days [ID:0].") as server:
        api.client.post(
            "/v1/llm/add_llm",
            headers=api.headers,
            json={
                "llm_factory": "OpenAI-API-Compatible",
                "llm_name": "fake-chat",
                "model_type": "chat",
                "api_base": server.url,
                "verify": False,
            },
        ).raise_for_status()
        chat_id, _ = api.knowledge_chat(llm={"model_name": "fake-chat@OpenAI-API-Compatible"})
        path = f"/openai/{chat_id}/chat/completions"
        payloads = _stream(api, path, _body())
        usage = payloads[-2]["usage"]
        provider_usage = server.requests_to("chat")[-1]
        assert provider_usage.json["stream"] is True
        assert usage["completion_tokens"] == 4  # as the provider counted it
        server.hang(endpoints="chat")
        failed = api.client.post(
            "/api/v1" + path, headers=api.headers, json=_body(stream=False)
        ).json()
        assert failed["code"] == 105
        payloads = _stream(api, path, _body())
        assert payloads[-1] == "[DONE]"
        assert payloads[-2]["error"]["code"] == 105
        assert payloads[-2]["error"]["message"]
        server.clear_faults()


def test_tenant_isolation(
    api: ChatApi, client: TestClient, accounts: Accounts, state: Runtime
) -> None:
    chat_id, _ = api.knowledge_chat()
    other = ChatApi(client, accounts.user("other@example.com"), state)
    for route in ROUTES:
        result = other.client.post(
            "/api/v1" + route.format(chat_id=chat_id),
            headers=other.headers,
            json=_body(stream=False),
        ).json()
        assert result["code"] == 102
    assert (
        client.post(f"/api/v1/openai/{chat_id}/chat/completions", json=_body()).status_code == 401
    )
