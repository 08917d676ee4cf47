"""Login limits (issue 13): failures per account and per client address get HTTP 429 with
``Retry-After``, and password hashing runs in a bounded number of slots."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.api.app import create_app
from ragprism.db import Database
from ragprism.runtime import Runtime
from ragprism.settings import Settings
from tests.conftest import Accounts

LOGIN = "/v1/user/login"
PASSWORD = "correct horse 1"


@pytest.fixture
def database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """The limits do not depend on the database: SQLite only."""
    target = tmp_path / "ragprism.db"
    shutil.copyfile(sqlite_template, target)
    database = Database(f"sqlite:///{target}")
    yield database
    database.dispose()


@pytest.fixture
def limited(settings: Settings, database: Database) -> Iterator[tuple[TestClient, Runtime]]:
    small = settings.model_copy(
        update={
            "login_max_failures_per_account": 3,
            "login_max_failures_per_address": 5,
            "password_hash_concurrency": 1,
            "password_hash_wait_seconds": 0.05,
        }
    )
    state = Runtime.build(small, database)
    with TestClient(create_app(state=state)) as client:
        yield client, state
    state.close()


def login(client: TestClient, email: str, password: str) -> Any:
    return client.post(LOGIN, json={"email": email, "password": password})


def assert_throttled(response: Any, fragment: str) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["code"] == 103
    assert fragment in body["message"]
    assert body["data"] is None
    assert int(response.headers["Retry-After"]) >= 1


def test_failures_per_account_are_limited(limited: tuple[TestClient, Runtime]) -> None:
    client, state = limited
    Accounts(client).register("victim@example.com")
    for _ in range(3):
        assert login(client, "victim@example.com", "wrong password").json()["code"] == 109
    # Past the limit even the right password is refused until the window has passed.
    refused = login(client, "Victim@Example.com ", PASSWORD)
    assert_throttled(refused, "this account")
    assert int(refused.headers["Retry-After"]) <= state.settings.login_failure_window_seconds
    # Another account from the same address is not locked out by it.
    Accounts(client).register("other@example.com")
    assert login(client, "other@example.com", PASSWORD).json()["code"] == 0


def test_a_success_resets_the_account_count(limited: tuple[TestClient, Runtime]) -> None:
    client, _ = limited
    Accounts(client).register("forgetful@example.com")
    for _ in range(2):
        assert login(client, "forgetful@example.com", "wrong password").json()["code"] == 109
    assert login(client, "forgetful@example.com", PASSWORD).json()["code"] == 0
    for _ in range(2):
        assert login(client, "forgetful@example.com", "wrong password").json()["code"] == 109
    assert login(client, "forgetful@example.com", PASSWORD).json()["code"] == 0


def test_failures_per_address_are_limited(limited: tuple[TestClient, Runtime]) -> None:
    client, _ = limited
    Accounts(client).register("real@example.com")
    # Spraying many accounts (unknown ones too) from one address.
    for n in range(5):
        assert login(client, f"guess{n}@example.com", "password1").json()["code"] == 109
    assert_throttled(login(client, "real@example.com", PASSWORD), "this address")


def test_hashing_is_bounded_even_for_unknown_emails(
    limited: tuple[TestClient, Runtime],
) -> None:
    client, state = limited
    Accounts(client).register("busy@example.com")
    # Every slot taken (by a login that is hashing): the next one waits briefly, then 429,
    # and an unknown e-mail costs no hash beyond the bound either.
    with state.login_guard.slots.slot():
        assert_throttled(login(client, "nobody@example.com", "password1"), "in progress")
        assert_throttled(login(client, "busy@example.com", PASSWORD), "in progress")
        registered = client.post(
            "/v1/user/register", json={"email": "new@example.com", "password": PASSWORD}
        )
        assert_throttled(registered, "in progress")
    assert login(client, "busy@example.com", PASSWORD).json()["code"] == 0
