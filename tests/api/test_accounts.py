"""``/v1/user``: registration, login, profile, logout and token authentication (SPEC §2)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from ragprism.api.app import create_app
from ragprism.db import Database, utcnow
from ragprism.models import LoginToken, Role, Tenant, User, UserTenant
from ragprism.runtime import Runtime
from ragprism.security import passwords
from ragprism.security.tokens import digest
from ragprism.services.accounts import accounts as accounts_service
from ragprism.settings import Settings
from tests.conftest import Accounts

REGISTER = "/v1/user/register"
LOGIN = "/v1/user/login"
INFO = "/v1/user/info"
PASSWORD = "correct horse 1"


def user_count(state: Runtime) -> int:
    with state.db.session() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["code"] == 401
    assert body["message"]


def test_register_creates_user_and_owned_tenant_and_hides_password_hash(
    client: TestClient, state: Runtime
) -> None:
    responses = [
        client.post(
            REGISTER,
            json={"email": " Alice@Example.com ", "password": PASSWORD, "nickname": "Alice"},
        )
    ]
    body = responses[0].json()
    assert responses[0].status_code == 200
    assert body["code"] == 0, body
    user = body["data"]
    assert re.fullmatch(r"[0-9a-f]{32}", user["id"])
    assert user["email"] == "alice@example.com"
    assert user["nickname"] == "Alice"

    with state.db.session() as session:
        stored = session.get(User, user["id"])
        assert stored is not None
        password_hash = stored.password_hash
        tenant = session.get(Tenant, user["id"])  # the owned tenant has the user's id
        assert tenant is not None
        link = session.scalars(select(UserTenant).where(UserTenant.tenant_id == tenant.id)).one()
        assert (link.user_id, link.role) == (user["id"], Role.OWNER.value)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash

    responses.append(
        login := client.post(LOGIN, json={"email": user["email"], "password": PASSWORD})
    )
    headers = {"Authorization": login.json()["data"]["access_token"]}
    responses.append(client.get(INFO, headers=headers))
    responses.append(client.get("/v1/tenant/list", headers=headers))
    responses.append(client.get(f"/v1/tenant/{user['id']}/user/list", headers=headers))
    for response in responses:
        assert response.json()["code"] == 0, response.text
        assert password_hash not in response.text
        assert "$argon2" not in response.text
        assert "password" not in response.text


def test_register_duplicate_email_is_a_data_error(
    client: TestClient, accounts: Accounts, state: Runtime
) -> None:
    accounts.register("bob@example.com")
    body = client.post(
        REGISTER, json={"email": "BOB@example.com", "password": "another password"}
    ).json()
    assert body["code"] == 102
    assert "bob@example.com" in body["message"]
    assert user_count(state) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "", "password": PASSWORD}, "email"),
        ({"email": "   ", "password": PASSWORD}, "email"),
        ({"email": "not-an-address", "password": PASSWORD}, "email"),
        ({"email": "a\x00@example.com", "password": PASSWORD}, "email"),
        ({"email": 42, "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": ""}, "password"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com", "password": "x" * 257}, "password"),
        ({"email": "a@example.com", "password": ["x" * 10]}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "nickname": "n" * 101}, "nickname"),
        ({"email": "a@example.com", "password": PASSWORD, "nickname": "a\x00b"}, "nickname"),
        ({"email": "a@example.com", "password": PASSWORD, "nickname": {"x": 1}}, "nickname"),
    ],
)
def test_register_invalid_field_is_named(
    client: TestClient, state: Runtime, payload: dict[str, Any], field: str
) -> None:
    response = client.post(REGISTER, json=payload)
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 101, body
    assert re.search(rf"(^|; ){field}:", body["message"]), body["message"]
    assert user_count(state) == 0


def test_register_with_no_fields_names_both(client: TestClient) -> None:
    body = client.post(REGISTER, json={}).json()
    assert body["code"] == 101
    assert "email: required" in body["message"]
    assert "password: required" in body["message"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "malformed JSON body"),
        ('{"email": "a@example.com",', "malformed JSON body"),
        ("", "a JSON object body is required"),
        ("[1, 2]", "body must be a JSON object"),
        ('"a@example.com"', "body must be a JSON object"),
        ("null", "body must be a JSON object"),
        ("42", "body must be a JSON object"),
    ],
)
def test_register_body_that_is_not_a_json_object(
    client: TestClient, content: str, expected: str
) -> None:
    response = client.post(REGISTER, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"code": 101, "message": expected, "data": None}


@pytest.fixture
def closed_client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A server whose operator switched registration off."""
    closed = Runtime.build(settings.model_copy(update={"register_enabled": False}), database)
    with TestClient(create_app(state=closed)) as test_client:
        yield test_client


def test_register_disabled_by_settings(closed_client: TestClient, state: Runtime) -> None:
    body = closed_client.post(
        REGISTER, json={"email": "c@example.com", "password": PASSWORD}
    ).json()
    assert body["code"] == 103
    assert "disabled" in body["message"]
    assert user_count(state) == 0


def test_login_returns_token_in_body_and_header(client: TestClient, accounts: Accounts) -> None:
    user_id = accounts.register("dora@example.com")
    response = client.post(LOGIN, json={"email": " DORA@example.com", "password": PASSWORD})
    body = response.json()
    assert body["code"] == 0, body
    token = body["data"]["access_token"]
    assert token
    assert response.headers["Authorization"] == token
    assert body["data"]["id"] == user_id
    assert "password_hash" not in body["data"]

    info = client.get(INFO, headers={"Authorization": f"Bearer {token}"}).json()
    assert info["code"] == 0
    assert info["data"]["id"] == user_id
    assert info["data"]["email"] == "dora@example.com"
    assert info["data"]["tenant_id"] == user_id
    assert info["data"]["role"] == "owner"


def test_login_failures_do_not_reveal_which_emails_exist(
    client: TestClient, accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts.register("erin@example.com")
    checks: list[str] = []
    real_verify: Callable[[str, str], bool] = passwords.verify_password

    def counting_verify(password_hash: str, password: str) -> bool:
        checks.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts_service, "verify_password", counting_verify)

    wrong_password = client.post(LOGIN, json={"email": "erin@example.com", "password": "x" * 12})
    unknown_email = client.post(LOGIN, json={"email": "nobody@example.com", "password": PASSWORD})
    malformed_email = client.post(LOGIN, json={"email": "nobody\x00", "password": PASSWORD})
    bodies = [r.json() for r in (wrong_password, unknown_email, malformed_email)]
    assert all(r.status_code == 200 for r in (wrong_password, unknown_email, malformed_email))
    assert bodies[0]["code"] == 109
    assert bodies[0] == bodies[1] == bodies[2]
    # Every failure costs one password hash, so timing tells nothing either.
    assert len(checks) == 3
    assert all(h.startswith("$argon2id$") for h in checks)
    assert "Authorization" not in wrong_password.headers


def test_login_missing_field_is_named(client: TestClient) -> None:
    body = client.post(LOGIN, json={"email": "f@example.com"}).json()
    assert body == {"code": 101, "message": "password: required", "data": None}


def test_logout_revokes_only_the_token_used(client: TestClient, accounts: Accounts) -> None:
    first = accounts.user("gus@example.com")
    second = accounts.login("gus@example.com")
    body = client.post("/v1/user/logout", headers=first).json()
    assert body == {"code": 0, "message": "success", "data": True}
    assert_unauthorized(client.get(INFO, headers=first))
    assert_unauthorized(client.post("/v1/user/logout", headers=first))
    assert client.get(INFO, headers=second).json()["code"] == 0


def test_bare_token_without_bearer_is_accepted(client: TestClient, accounts: Accounts) -> None:
    headers = accounts.user("hal@example.com")
    bare = headers["Authorization"].removeprefix("Bearer ")
    for value in (bare, f"bearer {bare}", f"  Bearer   {bare}  "):
        body = client.get(INFO, headers={"Authorization": value}).json()
        assert body["code"] == 0, value
        assert body["data"]["email"] == "hal@example.com"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer not-a-token",
        "not-a-token",
        "Bearer ragflow-not-a-key",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Bearer " + "x" * 600,
    ],
)
def test_missing_or_invalid_token_is_unauthorized(
    client: TestClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_unauthorized(client.get(INFO, headers=headers))
    assert_unauthorized(client.post("/v1/system/new_token", headers=headers))


def test_expired_token_is_unauthorized(
    client: TestClient, accounts: Accounts, state: Runtime
) -> None:
    headers = accounts.user("ida@example.com")
    assert client.get(INFO, headers=headers).json()["code"] == 0
    token = headers["Authorization"].removeprefix("Bearer ")
    with state.db.session() as session:
        expired = session.execute(
            update(LoginToken)
            .where(LoginToken.token_hash == digest(token))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        assert expired.rowcount == 1  # type: ignore[attr-defined]
    assert_unauthorized(client.get(INFO, headers=headers))
