"""One tenant's outbound calls to a hanging host cannot hold the server (issue 13).

Tenant A sends more concurrent requests than the server has request threads (anyio's
default pool: 40), each waiting on a host that never answers. Only A's per-tenant quota
reaches the host; the rest are refused at once with 103, and tenant B is answered while
A's admitted calls still hang (they are released only at the end of the test).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.api.app import create_app
from ragprism.db import Database
from ragprism.runtime import Runtime
from ragprism.settings import Settings
from tests.api.test_langfuse_config import fresh_keys
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse
from tests.support.openai_server import FakeOpenAI
from tests.tracing.helpers import wait_until

FLOOD = 45  # more than the request threads
QUOTA = 2


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """Thread use does not depend on the database: SQLite only."""
    target = tmp_path / "ragprism.db"
    shutil.copyfile(sqlite_template, target)
    database = Database(f"sqlite:///{target}")
    yield database
    database.dispose()


@pytest.fixture
def client(settings: Settings, database: Database) -> Iterator[TestClient]:
    limited = settings.model_copy(
        update={
            "langfuse_validations_per_tenant": QUOTA,
            "provider_calls_per_tenant": QUOTA,
            # Longer than the test: only the test's release ends the hang.
            "langfuse_validate_timeout": 60.0,
        }
    )
    state = Runtime.build(limited, database)
    with TestClient(create_app(state=state)) as test_client:
        yield test_client
    state.close()


def flood(send: Callable[[], Any]) -> tuple[list[threading.Thread], list[Any]]:
    results: list[Any] = []

    def run() -> None:
        results.append(send())

    threads = [threading.Thread(target=run, daemon=True) for _ in range(FLOOD)]
    for thread in threads:
        thread.start()
    return threads, results


def wait_for_refusals(results: list[Any]) -> None:
    """Wait until every request but the admitted (hanging) ones was answered: on a busy
    machine some of the flood still waits for a request thread when the quota is full,
    and must be refused before the hang is released (or it would be admitted then)."""
    wait_until(lambda: len(results) >= FLOOD - QUOTA, timeout=30, message="the refusals")


def answered_meanwhile(request: Callable[[], Any]) -> Any:
    """``request()``'s result, which must come while the hangs last."""
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(request()), daemon=True)
    thread.start()
    thread.join(timeout=20)  # a deadlock guard, not a latency assertion
    assert outcome, "the other tenant was not answered while the hangs were in progress"
    return outcome[0]


def test_langfuse_validations_of_one_tenant_do_not_hold_the_server(
    client: TestClient, fake_langfuse: FakeLangfuse
) -> None:
    accounts = Accounts(client)
    noisy, quiet = accounts.user("noisy@example.com"), accounts.user("quiet@example.com")
    fake_langfuse.hang(endpoints="projects")
    body = fresh_keys(fake_langfuse)
    threads, results = flood(
        lambda: client.put("/v1/langfuse/api_key", json=body, headers=noisy).json()
    )
    try:
        fake_langfuse.wait_for_hanging(QUOTA)
        answer = answered_meanwhile(
            lambda: client.get("/v1/langfuse/api_key", headers=quiet).json()
        )
        assert answer["code"] == 0
        assert fake_langfuse.hanging == QUOTA  # still hanging: B did not wait for them
        wait_for_refusals(results)
        assert len(results) == FLOOD - QUOTA  # the admitted ones still hang
        assert all(r["code"] == 103 for r in results)
        assert "Too many concurrent Langfuse key validations" in results[0]["message"]
    finally:
        fake_langfuse.clear_faults()
        for thread in threads:
            thread.join(timeout=30)
    assert len(results) == FLOOD
    assert sum(r["code"] == 0 for r in results) == QUOTA


def test_provider_calls_of_one_tenant_do_not_hold_the_server(client: TestClient) -> None:
    accounts = Accounts(client)
    noisy, quiet = accounts.user("noisy@example.com"), accounts.user("quiet@example.com")
    with FakeOpenAI(reply="OK") as fake:
        fake.hang(endpoints="chat")
        body = {
            "llm_factory": "OpenAI-API-Compatible",
            "llm_name": "slow-chat",
            "model_type": "chat",
            "api_base": fake.url,
            "api_key": fake.api_key,
        }
        threads, results = flood(
            lambda: client.post("/v1/llm/add_llm", json=body, headers=noisy).json()
        )
        try:
            fake.wait_for_hanging(QUOTA)
            answer = answered_meanwhile(lambda: client.get("/v1/llm/my_llms", headers=quiet).json())
            assert answer["code"] == 0
            assert fake.hanging == QUOTA
            wait_for_refusals(results)
            assert len(results) == FLOOD - QUOTA
            assert all(r["code"] == 103 for r in results)
            assert "Too many concurrent model provider calls" in results[0]["message"]
        finally:
            fake.clear_faults()
            for thread in threads:
                thread.join(timeout=30)
        assert len(results) == FLOOD
