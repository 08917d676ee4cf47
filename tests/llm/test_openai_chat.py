"""OpenAI-compatible chat against FakeOpenAI: blocking, streaming, parameters, Azure URLs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ragprism.llm import ChatModel
from ragprism.llm.openai_compat import OpenAICompatibleChat
from tests.llm.conftest import API_KEY, EndpointFactory
from tests.support.openai_server import FakeOpenAI

QUESTION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is the refund policy for opened software?"},
]
ECHO = "Echo: What is the refund policy for opened software?"


@pytest.fixture
def chat(endpoint: EndpointFactory) -> Iterator[OpenAICompatibleChat]:
    model = OpenAICompatibleChat("fake-chat", endpoint())
    yield model
    model.close()


def test_chat_returns_text_usage_model_and_finish_reason(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    model: ChatModel = chat  # checked by mypy
    result = model.chat(QUESTION)
    assert result.text == ECHO
    assert result.model == "fake-chat"
    assert result.finish_reason == "stop"
    assert result.usage.estimated is False
    assert result.usage.input_tokens == 3 + 8
    assert result.usage.output_tokens == len(ECHO.split())
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    (request,) = fake.requests_to("chat")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.json == {"model": "fake-chat", "messages": QUESTION}


def test_parameters_and_extras_are_sent_and_none_is_omitted(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    result = chat.chat(QUESTION, temperature=0.2, max_tokens=3, stop=["\n\n"], seed=7)
    assert result.finish_reason == "length"
    assert result.text == "Echo: What is"
    body = fake.requests_to("chat")[0].json
    assert body["temperature"] == 0.2
    assert body["max_tokens"] == 3
    assert body["stop"] == ["\n\n"]
    assert body["seed"] == 7
    assert "top_p" not in body


def test_stream_yields_pieces_then_provider_usage(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    *pieces, final = list(chat.stream(QUESTION, temperature=0))
    assert "".join(p.text for p in pieces) == ECHO
    assert len(pieces) == len(ECHO.split())
    assert [p.first for p in pieces] == [True] + [False] * (len(pieces) - 1)
    assert not any(p.final for p in pieces)
    assert final.final
    assert final.finish_reason == "stop"
    assert final.model == "fake-chat"
    assert final.usage == chat.chat(QUESTION).usage
    body = fake.requests_to("chat")[0].json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0


def test_stream_without_provider_usage_counts_tokens(
    endpoint: EndpointFactory, fake: FakeOpenAI
) -> None:
    model = OpenAICompatibleChat("fake-chat", endpoint(), stream_usage=False)
    try:
        final = list(model.stream(QUESTION))[-1]
    finally:
        model.close()
    assert "stream_options" not in fake.requests_to("chat")[0].json
    assert final.usage is not None
    assert final.usage.estimated
    assert final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0


def test_vision_content_parts_are_accepted(chat: OpenAICompatibleChat) -> None:
    content = [
        {"type": "text", "text": "What is on this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    result = chat.chat([{"role": "user", "content": content}])
    assert result.text == "Echo: What is on this picture? [image/png 8 bytes]"


def test_azure_style_base_url_passes_api_version_and_uses_api_key_header(
    endpoint: EndpointFactory, fake: FakeOpenAI
) -> None:
    model = OpenAICompatibleChat(
        "my-deployment", endpoint(base_url=fake.url + "?api-version=2024-06-01")
    )
    try:
        assert model.chat(QUESTION).text == ECHO
        list(model.stream(QUESTION))
    finally:
        model.close()
    for request in fake.requests_to("chat"):
        assert request.query == {"api-version": "2024-06-01"}
        assert request.headers["api-key"] == API_KEY
        assert "authorization" not in request.headers
    assert model.base_url == fake.url


def test_no_api_key_sends_no_authorization(endpoint: EndpointFactory) -> None:
    with FakeOpenAI(api_key=None, reply="local model here") as local:
        model = OpenAICompatibleChat("llama3", endpoint(base_url=local.url, api_key=None))
        try:
            assert model.chat(QUESTION).text == "local model here"
        finally:
            model.close()
        assert "authorization" not in local.requests[0].headers


def test_a_json_answer_to_a_stream_request_is_one_piece(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    completion = {
        "model": "fake-chat",
        "choices": [{"index": 0, "message": {"content": "whole"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }
    fake.status(200, completion, endpoints="chat", times=1)
    deltas = list(chat.stream(QUESTION))
    assert [d.text for d in deltas] == ["whole", ""]
    assert deltas[-1].usage is not None
    assert deltas[-1].usage.total_tokens == 6
