"""The FakeOpenAI test server itself: protocol details the provider tests rely on."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.support.openai_server import GARBAGE, FakeOpenAI


def test_url_ends_in_v1_and_models_are_listed() -> None:
    with FakeOpenAI(api_key=None, models=["m1", "m2"]) as fake:
        assert fake.url.endswith("/v1")
        answer = httpx.get(fake.url + "/models")
    assert [m["id"] for m in answer.json()["data"]] == ["m1", "m2"]


def test_a_wrong_key_gets_an_openai_style_401() -> None:
    with FakeOpenAI(api_key="sk-right") as fake:
        answer = httpx.get(fake.url + "/models", headers={"Authorization": "Bearer sk-wrong-1"})
        unknown = httpx.get(fake.url + "/nope", headers={"Authorization": "Bearer sk-right"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_api_key"
    assert unknown.status_code == 404
    assert "error" in unknown.json()


def test_faults_count_down_and_clear() -> None:
    with FakeOpenAI(api_key=None) as fake:
        fake.fail_next(1, 503, retry_after=1.5)
        fake.garbage(endpoints="embeddings")
        first = httpx.get(fake.url + "/models")
        second = httpx.get(fake.url + "/models")
        garbage = httpx.post(fake.url + "/embeddings", json={"model": "m", "input": "x"})
        fake.clear_faults()
        healthy = httpx.post(fake.url + "/embeddings", json={"model": "m", "input": "x"})
    assert (first.status_code, first.headers["retry-after"]) == (503, "1.5")
    assert second.status_code == 200
    assert garbage.content == GARBAGE
    assert len(healthy.json()["data"][0]["embedding"]) == fake.dimension
    assert [r.fault for r in fake.requests] == ["status", None, "garbage", None]


def test_stop_returns_with_hung_requests() -> None:
    fake = FakeOpenAI(api_key=None).start()
    fake.hang()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            httpx.get(fake.url + "/models", timeout=30)
        except httpx.HTTPError as exc:
            errors.append(exc)

    client = threading.Thread(target=call)
    client.start()
    fake.wait_for_hanging(1)
    fake.stop()  # releases the hung request and drops the connection
    client.join(timeout=10)
    assert not client.is_alive()
    assert len(errors) == 1
    fake.stop()  # idempotent


def test_unknown_endpoint_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown endpoint"):
        FakeOpenAI().hang(endpoints="chats")
