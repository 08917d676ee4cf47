"""Failures of OpenAI-compatible providers: retries, timeouts, auth, garbage, broken streams.

Waits are recorded by the endpoint's ``sleep`` (see conftest), so these tests assert
attempts and requested delays, never elapsed time.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterator

import pytest

from ragprism.errors import DataError, InvalidArgument, RagprismError, RetCode, UpstreamUnavailable
from ragprism.llm import ChatDelta, ProviderEndpoint
from ragprism.llm.openai_compat import (
    OpenAICompatibleChat,
    OpenAICompatibleEmbedding,
    OpenAICompatibleSpeech2Text,
)
from tests.llm.conftest import API_KEY, EndpointFactory, Sleeps
from tests.support.openai_server import FakeOpenAI

QUESTION = [{"role": "user", "content": "What is the refund policy?"}]


@pytest.fixture
def chat(endpoint: EndpointFactory) -> Iterator[OpenAICompatibleChat]:
    model = OpenAICompatibleChat("fake-chat", endpoint())
    yield model
    model.close()


# -- retries ---------------------------------------------------------------------------


def test_503_is_retried_until_success(
    chat: OpenAICompatibleChat, fake: FakeOpenAI, sleeps: Sleeps
) -> None:
    fake.fail_next(2, 503)
    assert chat.chat(QUESTION).text == "Echo: What is the refund policy?"
    assert [r.status for r in fake.requests_to("chat")] == [503, 503, 200]
    assert len(sleeps) == 2
    assert 0 < sleeps[0] <= sleeps[1] * 2  # jittered backoff, doubling


def test_503_gives_up_after_the_attempts(
    chat: OpenAICompatibleChat, fake: FakeOpenAI, sleeps: Sleeps
) -> None:
    fake.status(503)
    with pytest.raises(UpstreamUnavailable) as caught:
        chat.chat(QUESTION)
    assert caught.value.code == RetCode.CONNECTION_ERROR
    assert int(caught.value.code) == 105
    assert fake.url in caught.value.message
    assert "503" in caught.value.message
    assert fake.request_count("chat") == 3
    assert len(sleeps) == 2


def test_429_retry_after_is_honoured(
    chat: OpenAICompatibleChat, fake: FakeOpenAI, sleeps: Sleeps
) -> None:
    fake.fail_next(1, 429, retry_after=2)
    assert chat.chat(QUESTION).text.startswith("Echo:")
    assert fake.request_count("chat") == 2
    assert sleeps == [2.0]


def test_a_retry_after_beyond_the_budget_ends_the_retries(
    chat: OpenAICompatibleChat, fake: FakeOpenAI, sleeps: Sleeps
) -> None:
    fake.fail_next(1, 429, retry_after=3600)
    with pytest.raises(UpstreamUnavailable, match="429"):
        chat.chat(QUESTION)
    assert fake.request_count("chat") == 1
    assert sleeps == []


def test_an_exhausted_quota_is_not_retried(
    chat: OpenAICompatibleChat, fake: FakeOpenAI, sleeps: Sleeps
) -> None:
    quota = {"error": {"message": "You exceeded your current quota.", "code": "insufficient_quota"}}
    fake.fail_next(1, 429, body=quota)
    with pytest.raises(DataError, match="You exceeded your current quota"):
        chat.chat(QUESTION)
    assert fake.request_count("chat") == 1


def test_connection_resets_are_retried(
    chat: OpenAICompatibleChat, fake: FakeOpenAI, sleeps: Sleeps
) -> None:
    fake.reset(times=1)
    assert chat.chat(QUESTION).text.startswith("Echo:")
    assert [r.status for r in fake.requests_to("chat")] == [None, 200]
    assert len(sleeps) == 1


def test_a_refused_connection_is_upstream_unavailable(sleeps: Sleeps) -> None:
    with FakeOpenAI() as gone:
        url = gone.url
    endpoint = ProviderEndpoint(url, API_KEY, sleep=sleeps)
    model = OpenAICompatibleChat("fake-chat", endpoint)
    try:
        with pytest.raises(UpstreamUnavailable, match="cannot connect to") as caught:
            model.chat(QUESTION)
    finally:
        model.close()
    assert url in caught.value.message
    assert len(sleeps) == 2  # three attempts


def test_a_multipart_upload_is_resent_whole(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    fake.fail_next(1, 502, endpoints="transcriptions")
    model = OpenAICompatibleSpeech2Text("fake-whisper", endpoint())
    try:
        result = model.transcribe(b"0123456789" * 50, "a.mp3", "audio/mpeg")
    finally:
        model.close()
    assert result.text == "transcribed a.mp3 (500 bytes)"
    first, second = fake.requests_to("transcriptions")
    assert first.form is not None
    assert second.form is not None
    assert first.form["file"]["content"] == second.form["file"]["content"] == b"0123456789" * 50


def test_a_stream_is_retried_before_it_starts(chat: OpenAICompatibleChat, fake: FakeOpenAI) -> None:
    fake.fail_next(1, 500)
    text = "".join(delta.text for delta in chat.stream(QUESTION))
    assert text == "Echo: What is the refund policy?"
    assert fake.request_count("chat") == 2


# -- errors that are not retried -------------------------------------------------------


def test_timeout_is_upstream_unavailable(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    fake.hang(endpoints="chat")
    model = OpenAICompatibleChat("fake-chat", endpoint(timeout=0.2))
    try:
        with pytest.raises(UpstreamUnavailable, match=r"did not answer within 0\.2 s") as caught:
            model.chat(QUESTION)
    finally:
        model.close()
    assert caught.value.code == 105
    assert fake.url in caught.value.message
    assert fake.hanging == 1  # one attempt: a slow provider is not asked again
    fake.clear_faults()


def test_401_is_an_invalid_api_key(endpoint: EndpointFactory, fake: FakeOpenAI) -> None:
    model = OpenAICompatibleChat("fake-chat", endpoint(api_key="sk-wrong-key-5678"))
    try:
        with pytest.raises(DataError) as caught:
            model.chat(QUESTION)
    finally:
        model.close()
    assert caught.value.code == RetCode.DATA_ERROR
    assert int(caught.value.code) == 102
    assert caught.value.message == f"invalid API key for {fake.url}"
    assert fake.request_count() == 1


def test_403_is_an_invalid_api_key(chat: OpenAICompatibleChat, fake: FakeOpenAI) -> None:
    fake.status(403)
    with pytest.raises(DataError, match="invalid API key for"):
        chat.chat(QUESTION)


def test_4xx_carries_the_provider_message(chat: OpenAICompatibleChat, fake: FakeOpenAI) -> None:
    error = {"error": {"message": "The model `gpt-9` does not exist", "type": "invalid_request"}}
    fake.status(404, error)
    with pytest.raises(DataError) as caught:
        chat.chat(QUESTION)
    assert "The model `gpt-9` does not exist" in caught.value.message
    assert "HTTP 404" in caught.value.message
    assert fake.request_count() == 1


@pytest.mark.parametrize(
    "body",
    [{"error": "model not found"}, {"object": "error", "message": "model not found"}],
    ids=["ollama", "vllm"],
)
def test_other_error_shapes(chat: OpenAICompatibleChat, fake: FakeOpenAI, body: object) -> None:
    fake.status(400, body)
    with pytest.raises(DataError, match="model not found"):
        chat.chat(QUESTION)


def test_garbage_is_an_unexpected_response(
    endpoint: EndpointFactory, fake: FakeOpenAI, chat: OpenAICompatibleChat
) -> None:
    fake.garbage()
    with pytest.raises(DataError, match=f"unexpected response from {fake.url}") as caught:
        chat.chat(QUESTION)
    assert caught.value.code == 102
    with pytest.raises(DataError, match="unexpected response from"):
        list(chat.stream(QUESTION))
    embedding = OpenAICompatibleEmbedding("fake-embedding", endpoint())
    try:
        with pytest.raises(DataError, match="unexpected response from"):
            embedding.embed(["text"])
    finally:
        embedding.close()


def test_a_stream_answered_with_a_web_page_is_an_unexpected_response(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    fake.status(200, "<html><body>Welcome to nginx!</body></html>")
    with pytest.raises(DataError, match=r"unexpected response from .*not an event stream"):
        list(chat.stream(QUESTION))


def test_json_of_the_wrong_shape_is_an_unexpected_response(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    fake.status(200, {"hello": "world"})
    with pytest.raises(DataError, match=r"unexpected response from .*no choices"):
        chat.chat(QUESTION)


def test_a_bad_base_url_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="base_url"):
        OpenAICompatibleChat("m", ProviderEndpoint("localhost:11434"))


# -- streams ---------------------------------------------------------------------------


def test_a_stream_broken_midway_raises_after_the_pieces(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    fake.reply = "one two three four five"
    fake.break_stream_after(3)  # the role chunk, "one ", "two "
    pieces: list[ChatDelta] = []

    def consume() -> None:
        pieces.extend(chat.stream(QUESTION))

    with pytest.raises(UpstreamUnavailable) as caught:
        consume()
    assert [p.text for p in pieces] == ["one ", "two "]
    assert pieces[0].first
    assert caught.value.code == 105
    assert fake.url in caught.value.message
    assert fake.request_count("chat") == 1  # a started answer is not asked for again


def test_a_paused_stream_goes_on_when_the_faults_are_cleared(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    fake.reply = "one two three"
    fake.pause_stream_after(2)  # the role chunk, "one "
    stream = chat.stream(QUESTION)
    assert next(stream).text == "one "
    fake.clear_faults()
    assert "".join(piece.text for piece in stream) == "two three"


def test_closing_a_stream_early_releases_the_connection(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    fake.reply = " ".join(f"word{i}" for i in range(500))
    stream = chat.stream(QUESTION)
    first = next(stream)
    assert first.text == "word0 "
    assert fake.open_connections == 1
    stream.close()
    # The provider is still open: the connection was closed, not parked in its pool.
    fake.wait_for_connections(0)
    gc.collect()  # an unclosed socket would raise ResourceWarning (an error here)
    assert chat.chat(QUESTION).text.startswith("word0")  # the provider still works


def test_a_finished_stream_keeps_its_connection_for_reuse(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    list(chat.stream(QUESTION))
    list(chat.stream(QUESTION))
    assert fake.connections_seen == 1


# -- secrecy ---------------------------------------------------------------------------


def _scenarios(fake: FakeOpenAI) -> list[tuple[Callable[[], None], bool]]:
    """(arrange a failure, whether it only affects streams)."""

    def echo(code: int) -> Callable[[], None]:
        body = {"error": {"message": f"bad request with key {API_KEY} in it"}}
        return lambda: fake.status(code, body, endpoints="chat")

    return [
        (lambda: fake.status(401, endpoints="chat"), False),
        (echo(400), False),
        (echo(503), False),
        (echo(422), False),
        (lambda: fake.garbage(endpoints="chat"), False),
        (lambda: fake.reset(endpoints="chat"), False),
        (lambda: fake.break_stream_after(2), True),
    ]


def test_the_api_key_never_appears_in_errors_or_logs(
    chat: OpenAICompatibleChat, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    seen: list[str] = []
    for arrange, stream_only in _scenarios(fake):
        fake.clear_faults()
        arrange()
        calls: list[Callable[[], object]] = [lambda: list(chat.stream(QUESTION))]
        if not stream_only:
            calls.append(lambda: chat.chat(QUESTION))
        for call in calls:
            with pytest.raises(RagprismError) as caught:
                call()
            seen.append(str(caught.value))
            assert API_KEY not in str(caught.value)
            assert API_KEY not in repr(caught.value)
            # No chained transport error (whose text nobody vetted) travels with it.
            assert caught.value.__cause__ is None
            assert caught.value.__context__ is None or caught.value.__suppress_context__
    assert len(seen) == 13
    assert any("***" in message for message in seen)  # the echoed key was scrubbed
    assert "send_request_headers" in caplog.text  # httpcore debug lines were captured
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(chat._http)
    assert API_KEY not in repr(ProviderEndpoint(fake.url, API_KEY))


def test_a_body_that_is_not_an_api_error_is_never_echoed(
    chat: OpenAICompatibleChat, fake: FakeOpenAI
) -> None:
    # A base URL pointing at some internal service: its page must not reach the tenant.
    page = "internal-admin-console secret=hunter2 " * 10
    fake.status(400, page)
    with pytest.raises(DataError) as caught:
        chat.chat(QUESTION)
    assert "HTTP 400" in caught.value.message
    assert "internal-admin-console" not in caught.value.message
    assert "hunter2" not in caught.value.message
