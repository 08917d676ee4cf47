"""The OpenAI-compatible routes (and ``/chat/completions``) honour the request's model
options — ``max_tokens``, ``stop``, ``temperature``, ``top_p``, ``presence_penalty``,
``frequency_penalty`` — with the built-in model and with a provider, send them to the
provider, record them as the trace's model parameters, and name the model that answered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.llm import count_tokens
from ragprism.runtime import Runtime
from tests.api.chat_support import ChatApi, sse_payloads
from tests.api.rag_support import fail_fast_models
from tests.api.trace_support import add_model, trace_spans, traced
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse
from tests.support.openai_server import FakeOpenAI

PARAMETERS = "langfuse.observation.model.parameters"
VACATION = "How many days of paid vacation do employees get?"
OPTIONS = {
    "temperature": 0.7,
    "top_p": 0.9,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
}


@pytest.fixture
def api(client: TestClient, accounts: Accounts, state: Runtime) -> ChatApi:
    return ChatApi(client, accounts.user("options@example.com"), state)


@pytest.fixture
def provider(api: ChatApi, state: Runtime, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    fail_fast_models(state, monkeypatch, timeout=2.0)
    reply = "Vacation is twenty five days per year for every employee [ID:0]."
    with FakeOpenAI(api_key="sk-test", reply=reply) as server:
        add_model(api.client, api.headers, server.url, "fake-chat", "chat")
        yield server


def _complete(api: ChatApi, chat_id: str, **fields: Any) -> dict[str, Any]:
    body = {"model": "whatever", "messages": [{"role": "user", "content": VACATION}], **fields}
    response = api.client.post(
        f"/api/v1/openai/{chat_id}/chat/completions", headers=api.headers, json=body
    )
    assert response.status_code == 200, response.text
    completion: dict[str, Any] = response.json()
    return completion


def _stream(api: ChatApi, chat_id: str, **fields: Any) -> list[dict[str, Any]]:
    body = {"messages": [{"role": "user", "content": VACATION}], "stream": True, **fields}
    path = f"/api/v1/chats_openai/{chat_id}/chat/completions"
    with api.client.stream("POST", path, headers=api.headers, json=body) as r:
        payloads = sse_payloads(r.iter_lines())
    assert payloads[-1] == "[DONE]"
    return [p for p in payloads[:-1] if isinstance(p, dict)]


def test_builtin_model_honours_max_tokens_and_stop(api: ChatApi) -> None:
    chat_id, _ = api.knowledge_chat()
    full = _complete(api, chat_id, stream=False)
    text = full["choices"][0]["message"]["content"]
    assert count_tokens(text) > 5
    assert full["choices"][0]["finish_reason"] == "stop"
    assert full["model"] == "builtin-extractive"

    short = _complete(api, chat_id, stream=False, max_tokens=5)
    (choice,) = short["choices"]
    assert choice["finish_reason"] == "length"
    assert 0 < count_tokens(choice["message"]["content"]) <= 5
    assert short["usage"]["completion_tokens"] <= 5
    assert text.startswith(choice["message"]["content"])

    chunks = _stream(api, chat_id, max_tokens=5)
    streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert streamed == choice["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert {c["model"] for c in chunks} == {"builtin-extractive"}

    word = text.split()[2]
    stopped = _complete(api, chat_id, stream=False, stop=word)
    assert stopped["choices"][0]["message"]["content"] == text[: text.index(word)]
    listed = _complete(api, chat_id, stream=False, stop=["zzz", word])
    assert listed["choices"][0]["message"] == stopped["choices"][0]["message"]
    unmatched = _complete(api, chat_id, stream=False, stop="no such sequence in the handbook")
    assert unmatched["choices"][0]["message"]["content"] == text


def test_provider_gets_the_request_options(api: ChatApi, provider: FakeOpenAI) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": "fake-chat@OpenAI-API-Compatible"})
    completion = _complete(api, chat_id, stream=False, max_tokens=3, stop=["END"], **OPTIONS)
    sent = provider.requests_to("chat")[-1].json
    assert {k: sent[k] for k in OPTIONS} == OPTIONS
    assert sent["max_tokens"] == 3
    assert sent["stop"] == ["END"]
    assert completion["model"] == "fake-chat"  # not the request's "whatever"
    assert completion["choices"][0]["finish_reason"] == "length"
    # Without options the assistant's own settings apply.
    _complete(api, chat_id, stream=False)
    plain = provider.requests_to("chat")[-1].json
    assert plain["temperature"] == 0.1
    assert "stop" not in plain


def test_trace_records_the_options_sent(
    api: ChatApi, provider: FakeOpenAI, state: Runtime, fake_langfuse: FakeLangfuse
) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": "fake-chat@OpenAI-API-Compatible"})
    project_id = traced(api, fake_langfuse)
    completion = _complete(api, chat_id, stream=False, max_tokens=3, stop=["END"], **OPTIONS)
    spans = trace_spans(state, fake_langfuse, project_id, completion["trace_id"], 5)
    recorded = json.loads(spans["chat"]["attributes"][PARAMETERS])
    sent = provider.requests_to("chat")[-1].json
    assert recorded == {k: sent[k] for k in recorded}
    assert recorded == recorded | OPTIONS | {"max_tokens": 3, "stop": ["END"]}


def test_chat_completions_route_takes_the_options(api: ChatApi, provider: FakeOpenAI) -> None:
    chat_id, _ = api.knowledge_chat(llm={"model_name": "fake-chat@OpenAI-API-Compatible"})
    body = {
        "chat_id": chat_id,
        "messages": [{"role": "user", "content": VACATION}],
        "stream": False,
        "max_tokens": 4,
        **OPTIONS,
    }
    api.ok("POST", "/chat/completions", json=body)
    sent = provider.requests_to("chat")[-1].json
    assert {k: sent[k] for k in OPTIONS} == OPTIONS
    assert sent["max_tokens"] == 4


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_tokens", 0), ("temperature", 3), ("top_p", -1), ("stop", 5), ("stop", ["a"] * 17)],
)
def test_bad_options_are_refused_naming_the_field(api: ChatApi, field: str, value: Any) -> None:
    chat_id = api.chat("plain")["id"]
    body = {"messages": [{"role": "user", "content": VACATION}], "stream": False, field: value}
    response = api.client.post(
        f"/api/v1/openai/{chat_id}/chat/completions", headers=api.headers, json=body
    )
    assert response.status_code == 400
    assert response.json()["code"] == 101
    assert field in response.json()["message"]
