"""``POST /api/v1/chat/audio/transcription`` (RAGFlow's speech-to-text route), traced as
``ragflow-transcription`` into the tenant's Langfuse project."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.api.app import create_app
from ragprism.llm import count_tokens
from ragprism.runtime import Runtime
from tests.api.chat_support import sse_payloads
from tests.api.rag_support import Rag, fail_fast_models
from tests.api.trace_support import (
    COST,
    INPUT,
    LEVEL,
    MODEL,
    OUTPUT,
    STATUS,
    TYPE,
    USAGE,
    add_model,
    attr,
    set_defaults,
    trace_spans,
    traced,
    value,
)
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse
from tests.support.openai_server import FakeOpenAI

ROUTE = "/api/v1/chat/audio/transcription"
WHISPER = "fake-whisper@OpenAI-API-Compatible"
AUDIO = b"RIFF\x24\x08\x00\x00WAVEfmt " + bytes(2000)
TREE = {"name": "ragflow-transcription", "children": [{"name": "transcription", "children": []}]}
PROVIDER_USAGE = {"input_tokens": 30, "output_tokens": 12, "total_tokens": 42}


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key="sk-test") as server:
        yield server


@pytest.fixture
def api(
    client: TestClient, accounts: Accounts, state: Runtime, monkeypatch: pytest.MonkeyPatch
) -> Rag:
    fail_fast_models(state, monkeypatch)
    return Rag(client, accounts.user("owner@example.com"), state)


@pytest.fixture
def whisper(api: Rag, openai_server: FakeOpenAI) -> str:
    """The test server's speech-to-text model, priced, as the tenant's default."""
    add_model(
        api.client,
        api.headers,
        openai_server.url,
        "fake-whisper",
        "speech2text",
        input_price=2.5,
        output_price=10,
    )
    assert set_defaults(api.client, api.headers, asr_id=WHISPER)["code"] == 0
    return WHISPER


def post_audio(
    api: Rag, name: str = "speech.wav", data: bytes = AUDIO, **form: str
) -> tuple[dict[str, Any], dict[str, str]]:
    response = api.client.post(
        ROUTE, headers=api.headers, files={"file": (name, data, "audio/wav")}, data=form
    )
    assert response.status_code == 200, response.text
    return response.json(), dict(response.headers)


def test_transcription_is_one_traced_generation_with_provider_usage_and_cost(
    api: Rag, state: Runtime, fake_langfuse: FakeLangfuse, whisper: str, openai_server: FakeOpenAI
) -> None:
    project_id = traced(api, fake_langfuse)
    openai_server.status(
        200, {"text": "hello from the meeting", "usage": PROVIDER_USAGE}, endpoints="transcriptions"
    )
    body, headers = post_audio(api)
    assert body["code"] == 0, body
    data = body["data"]
    assert data["text"] == "hello from the meeting"
    trace_id = data["trace_id"]
    assert headers["x-trace-id"] == trace_id
    assert data["trace_url"].endswith(f"/project/{project_id}/traces/{trace_id}")
    (sent,) = openai_server.requests_to("transcriptions")
    assert sent.form is not None
    assert sent.form["model"] == "fake-whisper"
    assert sent.form["file"]["filename"] == "speech.wav"
    assert sent.form["file"]["content"] == AUDIO

    spans = trace_spans(state, fake_langfuse, project_id, trace_id, 2)
    assert fake_langfuse.span_tree(trace_id, project_id) == TREE
    root, generation = spans["ragflow-transcription"], spans["transcription"]
    assert attr(root, TYPE) == "span"
    assert attr(generation, TYPE) == "generation"
    assert attr(generation, MODEL) == "fake-whisper"
    described = {"file": "speech.wav", "bytes": len(AUDIO), "content_type": "audio/wav"}
    assert value(root, INPUT) == described
    assert value(generation, INPUT) == described  # never the audio bytes
    assert value(generation, OUTPUT) == value(root, OUTPUT) == "hello from the meeting"
    assert value(generation, USAGE) == {"input": 30, "output": 12, "total": 42}
    # USD per 1M tokens: 30 * 2.5 / 1e6 and 12 * 10 / 1e6.
    assert value(generation, COST) == pytest.approx(
        {"input": 0.000075, "output": 0.00012, "total": 0.000195}
    )
    assert attr(generation, "langfuse.observation.metadata.usage_estimated") is None
    assert attr(generation, LEVEL) is None
    for span in spans.values():
        assert attr(span, "langfuse.trace.name") == "ragflow-transcription"
        assert list(attr(span, "langfuse.trace.tags")) == [WHISPER]
        user_id = attr(span, "user.id")
        assert user_id
        assert "@" not in user_id
        assert span["end_time_unix_nano"] >= span["start_time_unix_nano"] > 0


def test_usage_is_estimated_and_marked_when_the_provider_reports_none(
    api: Rag, state: Runtime, fake_langfuse: FakeLangfuse, whisper: str
) -> None:
    project_id = traced(api, fake_langfuse)
    body, _ = post_audio(api, "memo.MP3")
    text = body["data"]["text"]
    assert text == f"transcribed memo.MP3 ({len(AUDIO)} bytes)"  # the test server's answer
    spans = trace_spans(state, fake_langfuse, project_id, body["data"]["trace_id"], 2)
    generation = spans["transcription"]
    assert value(generation, INPUT)["content_type"] == "audio/mpeg"
    tokens = count_tokens(text)
    assert value(generation, USAGE) == {"input": 0, "output": tokens, "total": tokens}
    assert value(generation, "langfuse.observation.metadata.usage_estimated") is True
    assert value(generation, COST) == pytest.approx(
        {"input": 0.0, "output": tokens * 10 / 1e6, "total": tokens * 10 / 1e6}
    )


def test_stream_answers_one_done_event_with_the_trace(
    api: Rag, state: Runtime, fake_langfuse: FakeLangfuse, whisper: str
) -> None:
    project_id = traced(api, fake_langfuse)
    with api.client.stream(
        "POST",
        ROUTE,
        headers=api.headers,
        files={"file": ("a.webm", AUDIO, "audio/webm")},
        data={"stream": "true"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        header = response.headers["X-Trace-Id"]
        (event,) = sse_payloads(response.iter_lines())
    assert event["event"] == "done"
    assert event["text"] == f"transcribed a.webm ({len(AUDIO)} bytes)"
    assert event["trace_id"] == header
    assert event["trace_url"].endswith(f"/traces/{header}")
    trace_spans(state, fake_langfuse, project_id, header, 2)


@pytest.mark.parametrize(("status", "code"), [(503, 105), (401, 102)])
def test_provider_failure_is_an_error_generation_and_a_clear_error(
    api: Rag,
    state: Runtime,
    fake_langfuse: FakeLangfuse,
    whisper: str,
    openai_server: FakeOpenAI,
    status: int,
    code: int,
) -> None:
    project_id = traced(api, fake_langfuse)
    openai_server.status(status, endpoints="transcriptions")
    body, headers = post_audio(api)
    assert body["code"] == code
    assert body["data"] is None
    assert openai_server.url in body["message"]  # names the provider, never the key
    assert "sk-test" not in body["message"]
    trace_id = headers["x-trace-id"]
    spans = trace_spans(state, fake_langfuse, project_id, trace_id, 2)
    generation = spans["transcription"]
    assert attr(generation, LEVEL) == "ERROR"
    assert attr(generation, STATUS) == body["message"]
    assert attr(generation, USAGE) is None
    assert attr(generation, COST) is None
    assert generation["end_time_unix_nano"] >= generation["start_time_unix_nano"] > 0
    assert value(spans["ragflow-transcription"], OUTPUT) == {"error": body["message"]}


def test_stream_reports_a_provider_failure_as_an_error_event(
    api: Rag, whisper: str, openai_server: FakeOpenAI
) -> None:
    openai_server.status(503, endpoints="transcriptions")
    with api.client.stream(
        "POST",
        ROUTE,
        headers=api.headers,
        files={"file": ("a.wav", AUDIO)},
        data={"stream": "TRUE"},
    ) as response:
        (event,) = sse_payloads(response.iter_lines())
    assert event["event"] == "error"
    assert event["code"] == 105
    assert openai_server.url in event["text"]
    assert "trace_id" not in event  # the tenant does not trace


def test_untraced_tenant_gets_the_text_without_trace_fields(
    api: Rag, whisper: str, fake_langfuse: FakeLangfuse
) -> None:
    body, headers = post_audio(api)
    assert body["code"] == 0
    assert set(body["data"]) == {"text"}
    assert "x-trace-id" not in headers
    assert fake_langfuse.spans() == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (None, "Missing 'file' in multipart form-data"),
        ({"file": ("speech.txt", b"hello")}, "Unsupported audio format: .txt. Allowed: .aac"),
        ({"file": ("speech", b"hello")}, "Unsupported audio format: (no extension)"),
        ({"file": ("empty.wav", b"")}, "empty.wav: the file is empty."),
    ],
)
def test_bad_uploads_are_refused_before_any_model_call(
    api: Rag,
    whisper: str,
    openai_server: FakeOpenAI,
    fake_langfuse: FakeLangfuse,
    files: dict[str, Any] | None,
    message: str,
) -> None:
    traced(api, fake_langfuse)
    data = {"stream": "false"}
    response = api.client.post(ROUTE, headers=api.headers, files=files, data=data)
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 102, body
    assert body["message"].startswith(message)
    assert body["data"] is None
    assert "x-trace-id" not in response.headers
    assert openai_server.request_count("transcriptions") == 0
    assert fake_langfuse.spans() == []


def test_a_json_body_is_refused_like_a_missing_file(api: Rag, whisper: str) -> None:
    body = api.client.post(ROUTE, headers=api.headers, json={"file": "x.wav"}).json()
    assert body["code"] in (101, 102)
    assert body["data"] is None


def test_audio_over_the_upload_limit_is_refused_with_413(
    state: Runtime, accounts: Accounts, whisper: str, openai_server: FakeOpenAI
) -> None:
    limit = state.settings.max_body_bytes  # multipart bodies may not be smaller than this
    state.settings.max_upload_bytes = limit
    with TestClient(create_app(state=state)) as small:
        headers = Accounts(small).login("owner@example.com")
        response = small.post(ROUTE, headers=headers, files={"file": ("big.wav", bytes(limit + 1))})
    assert response.status_code == 413
    assert response.json()["code"] == 101
    assert openai_server.request_count("transcriptions") == 0


def test_without_a_speech_to_text_model_the_error_says_what_to_set(api: Rag) -> None:
    body, _ = post_audio(api)
    assert body["code"] == 102
    assert "No speech-to-text model is configured" in body["message"]
    assert "asr_id" in body["message"]


def test_unauthenticated_is_401(client: TestClient) -> None:
    response = client.post(ROUTE, files={"file": ("a.wav", AUDIO)})
    assert response.status_code == 401


def test_another_tenant_can_neither_use_the_model_nor_see_the_trace(
    api: Rag,
    accounts: Accounts,
    state: Runtime,
    fake_langfuse: FakeLangfuse,
    whisper: str,
    openai_server: FakeOpenAI,
) -> None:
    project_id = traced(api, fake_langfuse)
    other = Rag(api.client, accounts.user("other@example.com"), state)
    other_project = traced(other, fake_langfuse)
    refused = set_defaults(other.client, other.headers, asr_id=WHISPER)
    assert refused["code"] == 102
    assert "not configured for this tenant" in refused["message"]
    body, headers = post_audio(other)
    assert body["code"] == 102
    assert "No speech-to-text model" in body["message"]
    assert "x-trace-id" not in headers
    assert openai_server.request_count("transcriptions") == 0

    mine, _ = post_audio(api)
    trace_spans(state, fake_langfuse, project_id, mine["data"]["trace_id"], 2)
    assert fake_langfuse.spans(other_project) == []
