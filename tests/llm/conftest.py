"""Fixtures for the model provider tests: a FakeOpenAI server and endpoints pointing at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import pytest

from ragprism.llm import ProviderEndpoint, RetryPolicy
from tests.support.openai_server import FakeOpenAI

API_KEY = "sk-fake-test-key-0123456789abcdef"
# Waits are recorded, not slept: tests assert attempts and requested delays, never time.
RETRY = RetryPolicy(attempts=3, backoff=0.5, max_delay=8.0, max_total=15.0)


class Sleeps(list[float]):
    """A ``sleep`` that records the requested waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class EndpointFactory(Protocol):
    def __call__(self, **overrides: Any) -> ProviderEndpoint: ...


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def endpoint(fake: FakeOpenAI, sleeps: Sleeps) -> EndpointFactory:
    """``endpoint(**overrides)``: a ProviderEndpoint for ``fake`` with recorded sleeps."""

    def make(**overrides: Any) -> ProviderEndpoint:
        options: dict[str, Any] = {
            "base_url": fake.url,
            "api_key": API_KEY,
            "timeout": 5.0,
            "retry": RETRY,
            "sleep": sleeps,
            **overrides,
        }
        return ProviderEndpoint(**options)

    return make
