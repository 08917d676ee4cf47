"""Tenant model providers and default models (``/v1/llm``, ``/v1/user/*tenant_info``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ragprism.api.app import create_app
from ragprism.db import Database
from ragprism.models import TenantLlm
from ragprism.runtime import Runtime
from ragprism.settings import Settings
from tests.conftest import Accounts
from tests.support.openai_server import FakeOpenAI


@pytest.fixture(scope="module")
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(reply="OK from the fake") as server:
        yield server


@pytest.fixture
def fake_openai(openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    openai_server.clear_faults()
    openai_server.clear()
    yield openai_server
    openai_server.clear_faults()


@pytest.fixture
def owner(accounts: Accounts) -> dict[str, str]:
    return accounts.user("models@example.com")


def add(
    client: TestClient, headers: dict[str, str], server: FakeOpenAI, **fields: Any
) -> dict[str, Any]:
    body = {
        "llm_factory": "OpenAI-API-Compatible",
        "llm_name": "fake-chat",
        "model_type": "chat",
        "api_base": server.url,
        "api_key": server.api_key,
        **fields,
    }
    result: dict[str, Any] = client.post("/v1/llm/add_llm", json=body, headers=headers).json()
    return result


def test_add_verifies_with_a_real_call_and_hides_the_key(
    client: TestClient, owner: dict[str, str], fake_openai: FakeOpenAI, state: Runtime
) -> None:
    result = add(client, owner, fake_openai)
    assert result == {
        "code": 0,
        "message": "success",
        "data": {"llm_id": "fake-chat@OpenAI-API-Compatible", "model_type": "chat"},
    }
    assert fake_openai.request_count("chat") == 1
    listed = client.get("/v1/llm/my_llms", headers=owner)
    assert fake_openai.api_key not in listed.text
    models = listed.json()["data"]["OpenAI-API-Compatible"]["llm"]
    assert models == [
        {
            "type": "chat",
            "name": "fake-chat",
            "api_base": fake_openai.url,
            "has_api_key": True,
            "used_token": 0,
            "max_tokens": 8192,
            "input_price": None,
            "output_price": None,
        }
    ]
    with state.db.session() as session:
        stored = session.scalars(select(TenantLlm)).one()
        assert stored.api_key_enc is not None
        assert fake_openai.api_key not in stored.api_key_enc


def test_defaults_resolve_to_working_models(
    client: TestClient, owner: dict[str, str], fake_openai: FakeOpenAI, state: Runtime
) -> None:
    info = client.get("/v1/user/tenant_info", headers=owner).json()["data"]
    assert info["llm_id"] == "builtin-extractive@Builtin"
    assert info["embd_id"] == "builtin-hashing@Builtin"
    assert add(client, owner, fake_openai)["code"] == 0
    changed = client.post(
        "/v1/user/set_tenant_info",
        json={"llm_id": "fake-chat@OpenAI-API-Compatible"},
        headers=owner,
    ).json()
    assert changed["code"] == 0, changed
    assert changed["data"]["llm_id"] == "fake-chat@OpenAI-API-Compatible"
    with state.db.session() as session:
        model = state.models.chat(session, info["tenant_id"])
        assert model.chat([{"role": "user", "content": "hi"}]).text == "OK from the fake"
        builtin = state.models.embedding(session, info["tenant_id"])
        assert len(builtin.embed(["hello"]).vectors[0]) == builtin.dimension


@pytest.mark.parametrize(
    ("fields", "code", "fragment"),
    [
        ({"llm_factory": "Nope"}, 101, "unknown factory"),
        ({"llm_factory": "Builtin"}, 101, "built-in"),
        ({"model_type": "video"}, 101, "model_type"),
        ({"llm_name": "a@b"}, 101, "llm_name"),
        ({"api_base": "ftp://example.com"}, 101, "api_base"),
        ({"api_base": "http://169.254.169.254/v1"}, 101, "link-local"),
        ({"api_key": "sk-wrong"}, 102, "API key"),
        ({"api_key": "sk-clé-ключ"}, 101, "api_key: at most 1024 printable ASCII"),
        ({"api_base": "http://user:sk-secret@127.0.0.1:1/v1"}, 101, "credentials"),
        ({"api_base": "http://127.0.0.1:1/v1?api_key=sk-secret"}, 101, "api_key"),
        ({"api_base": "file:///etc/passwd", "verify": False}, 101, "http://"),
        ({"api_base": "gopher://127.0.0.1:70/", "verify": False}, 101, "api_base"),
        ({"api_key": "sk-\u00e9t\u00e9", "verify": False}, 101, "ASCII"),
    ],
)
def test_bad_models_are_refused(
    client: TestClient,
    owner: dict[str, str],
    fake_openai: FakeOpenAI,
    fields: dict[str, Any],
    code: int,
    fragment: str,
) -> None:
    result = add(client, owner, fake_openai, **fields)
    assert result["code"] == code, result
    assert fragment in result["message"]
    assert "sk-wrong" not in result["message"]
    assert "sk-secret" not in result["message"]
    assert client.get("/v1/llm/my_llms", headers=owner).json()["data"].keys() == {"Builtin"}


def test_unreachable_provider_is_a_connection_error(
    client: TestClient, owner: dict[str, str], fake_openai: FakeOpenAI
) -> None:
    fake_openai.status(503)
    result = add(client, owner, fake_openai)
    assert result["code"] == 105, result
    assert fake_openai.url in result["message"]


def test_unknown_default_and_role_checks(
    client: TestClient, accounts: Accounts, owner: dict[str, str], fake_openai: FakeOpenAI
) -> None:
    unknown = client.post(
        "/v1/user/set_tenant_info", json={"llm_id": "gpt-9@OpenAI"}, headers=owner
    ).json()
    assert unknown["code"] == 102
    assert "not configured" in unknown["message"]
    wrong_kind = client.post(
        "/v1/user/set_tenant_info", json={"embd_id": "builtin-extractive@Builtin"}, headers=owner
    ).json()
    assert wrong_kind["code"] == 102

    tenant_id = client.get("/v1/user/tenant_info", headers=owner).json()["data"]["tenant_id"]
    accounts.register("member-m@example.com")
    client.post(
        f"/v1/tenant/{tenant_id}/user", json={"email": "member-m@example.com"}, headers=owner
    )
    member = {**accounts.login("member-m@example.com"), "X-Tenant-Id": tenant_id}
    assert add(client, member, fake_openai)["code"] == 108
    denied = client.post("/v1/user/set_tenant_info", json={"llm_id": ""}, headers=member).json()
    assert denied["code"] == 108
    assert client.get("/v1/llm/my_llms", headers=member).json()["code"] == 0


def test_delete_and_isolation(
    client: TestClient, accounts: Accounts, owner: dict[str, str], fake_openai: FakeOpenAI
) -> None:
    assert add(client, owner, fake_openai, verify=False)["code"] == 0
    assert fake_openai.request_count() == 0
    stranger = accounts.user("stranger-m@example.com")
    assert client.get("/v1/llm/my_llms", headers=stranger).json()["data"].keys() == {"Builtin"}
    body = {"llm_factory": "OpenAI-API-Compatible", "llm_name": "fake-chat"}
    assert client.post("/v1/llm/delete_llm", json=body, headers=stranger).json()["code"] == 102
    assert client.post("/v1/llm/delete_llm", json=body, headers=owner).json()["code"] == 0
    assert client.post("/v1/llm/delete_llm", json=body, headers=owner).json()["code"] == 102


def test_default_policy_refuses_a_provider_on_loopback(
    settings: Settings, database: Database, fake_openai: FakeOpenAI
) -> None:
    # The default host policy governs providers' base URLs too (an open-registration
    # server must not become a proxy to internal services); an operator allowlist opens it.
    strict = settings.model_copy(update={"langfuse_host_policy": ["no-private"]})
    state = Runtime.build(strict, database)
    with TestClient(create_app(state=state)) as client:
        headers = Accounts(client).user("strict-models@example.com")
        result = add(client, headers, fake_openai)
        assert result["code"] == 101, result
        assert "private or loopback" in result["message"]
        assert fake_openai.request_count() == 0
    state.close()
    allowed = strict.model_copy(update={"host_allowlist": ["127.0.0.1"]})
    state = Runtime.build(allowed, database)
    with TestClient(create_app(state=state)) as client:
        headers = Accounts(client).login("strict-models@example.com")
        assert add(client, headers, fake_openai)["code"] == 0
    state.close()


def test_my_llms_masks_credentials_of_a_stored_api_base(
    client: TestClient, owner: dict[str, str], state: Runtime
) -> None:
    # A row stored before api_base was checked: members must not see what it carries.
    tenant_id = client.get("/v1/user/info", headers=owner).json()["data"]["tenant_id"]
    with state.db.session() as session:
        session.add(
            TenantLlm(
                tenant_id=tenant_id,
                llm_factory="OpenAI-API-Compatible",
                llm_name="legacy",
                model_type="chat",
                api_base="https://bob:hunter2@llm.example.com/v1?api-version=1&key=sk-leak",
                max_tokens=8192,
            )
        )
    listed = client.get("/v1/llm/my_llms", headers=owner)
    assert "hunter2" not in listed.text
    assert "sk-leak" not in listed.text
    (model,) = listed.json()["data"]["OpenAI-API-Compatible"]["llm"]
    assert model["api_base"] == "https://***@llm.example.com/v1?api-version=1&key=***"
