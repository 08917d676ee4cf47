"""``/v1/system``: API keys of the current tenant (SPEC §2)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ragprism.models import ApiToken
from ragprism.runtime import Runtime
from tests.conftest import Accounts

NEW = "/v1/system/new_token"
LIST = "/v1/system/token_list"
INFO = "/v1/user/info"


def new_key(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    body = client.post(NEW, headers=headers).json()
    assert body["code"] == 0, body
    key: dict[str, Any] = body["data"]
    return key


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def delete_key(client: TestClient, headers: dict[str, str], handle: str) -> dict[str, Any]:
    body: dict[str, Any] = client.delete(
        f"/v1/system/token/{quote(handle, safe='')}", headers=headers
    ).json()
    return body


def test_new_token_is_shown_once_then_only_masked(client: TestClient, accounts: Accounts) -> None:
    headers = accounts.user("ann@example.com")
    owner_id = client.get(INFO, headers=headers).json()["data"]["id"]
    key = new_key(client, headers)
    token = key["token"]
    assert token.startswith("ragflow-")
    assert len(token) >= len("ragflow-") + 32
    assert key["tenant_id"] == owner_id

    response = client.get(LIST, headers=headers)
    body = response.json()
    assert body["code"] == 0
    [listed] = body["data"]
    assert listed["id"] == key["id"]
    assert listed["token"] != token
    assert listed["token"].startswith("ragflow-")
    assert "…" in listed["token"]
    assert token not in response.text
    assert token.removeprefix("ragflow-") not in response.text


def test_api_key_authenticates_with_and_without_bearer(
    client: TestClient, accounts: Accounts
) -> None:
    headers = accounts.user("ben@example.com")
    owner_id = client.get(INFO, headers=headers).json()["data"]["id"]
    token = new_key(client, headers)["token"]
    for authorization in (f"Bearer {token}", token):
        info = client.get(INFO, headers={"Authorization": authorization}).json()
        assert info["code"] == 0, authorization
        assert info["data"]["id"] == owner_id
        assert info["data"]["tenant_id"] == owner_id
        assert info["data"]["role"] == "owner"
    assert client.get(LIST, headers=bearer(token)).json()["code"] == 0
    # Logging out is for login tokens; an API key is revoked by deleting it.
    assert client.post("/v1/user/logout", headers=bearer(token)).json()["code"] == 103
    assert client.get(INFO, headers=bearer(token)).json()["code"] == 0


def test_delete_by_full_token_by_id_and_by_masked_form(
    client: TestClient, accounts: Accounts
) -> None:
    headers = accounts.user("cid@example.com")
    keys = [new_key(client, headers) for _ in range(3)]
    masked = {row["id"]: row["token"] for row in client.get(LIST, headers=headers).json()["data"]}
    handles = [keys[0]["token"], keys[1]["id"], masked[keys[2]["id"]]]

    for index, handle in enumerate(handles):
        assert delete_key(client, headers, handle) == {
            "code": 0,
            "message": "success",
            "data": True,
        }, handle
        gone = client.get(INFO, headers=bearer(keys[index]["token"]))
        assert gone.status_code == 401
        assert gone.json()["code"] == 401
        for later in keys[index + 1 :]:  # only that key went
            assert client.get(INFO, headers=bearer(later["token"])).json()["code"] == 0
        assert delete_key(client, headers, handle)["code"] == 102  # deleting twice
    assert client.get(LIST, headers=headers).json()["data"] == []


@pytest.mark.parametrize(
    "handle",
    [
        "ragflow-thisKeyWasNeverIssued0000000000",
        "0123456789abcdef0123456789abcdef",
        "ragflow-abcdef…wxyz",
        "\x00",
    ],
)
def test_deleting_an_unknown_key_is_a_data_error(
    client: TestClient, accounts: Accounts, handle: str
) -> None:
    headers = accounts.user("dee@example.com")
    token = new_key(client, headers)["token"]
    body = delete_key(client, headers, handle)
    assert body == {"code": 102, "message": "API key not found.", "data": None}
    assert client.get(INFO, headers=bearer(token)).json()["code"] == 0


def test_only_the_sha256_digest_is_stored(
    client: TestClient, accounts: Accounts, state: Runtime
) -> None:
    headers = accounts.user("eve@example.com")
    key = new_key(client, headers)
    token = key["token"]
    secret_part = token.removeprefix("ragflow-")
    with state.db.session() as session:
        rows = session.execute(select(ApiToken.__table__)).mappings().all()
    [row] = rows
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    for column, value in row.items():
        assert secret_part not in str(value), column
    listed = client.get(LIST, headers=headers).json()["data"][0]["token"]
    assert row["masked"] == listed


def test_member_key_acts_with_member_role_and_dies_with_membership(
    client: TestClient, accounts: Accounts
) -> None:
    owner = accounts.user("own@example.com")
    owner_tenant = client.get(INFO, headers=owner).json()["data"]["id"]
    member_id = accounts.register("mem@example.com")
    invited = client.post(
        f"/v1/tenant/{owner_tenant}/user", json={"email": "mem@example.com"}, headers=owner
    ).json()
    assert invited["code"] == 0, invited
    member = {**accounts.login("mem@example.com"), "X-Tenant-Id": owner_tenant}

    key = new_key(client, member)
    assert key["tenant_id"] == owner_tenant
    as_key = bearer(key["token"])
    info = client.get(INFO, headers=as_key).json()["data"]
    assert (info["id"], info["tenant_id"], info["role"]) == (member_id, owner_tenant, "normal")
    # A normal member may not invite, so neither may their key.
    denied = client.post(
        f"/v1/tenant/{owner_tenant}/user", json={"email": "own@example.com"}, headers=as_key
    ).json()
    assert denied["code"] == 108
    # The owner sees the member's key among the tenant's keys.
    assert key["id"] in {row["id"] for row in client.get(LIST, headers=owner).json()["data"]}

    removed = client.delete(f"/v1/tenant/{owner_tenant}/user/{member_id}", headers=owner).json()
    assert removed["code"] == 0, removed
    response = client.get(INFO, headers=as_key)
    assert response.status_code == 401
    assert response.json()["code"] == 401
    # Re-inviting the member does not bring the old key back: it went with the membership.
    client.post(f"/v1/tenant/{owner_tenant}/user", json={"email": "mem@example.com"}, headers=owner)
    assert client.get(INFO, headers=as_key).status_code == 401
    assert key["id"] not in {row["id"] for row in client.get(LIST, headers=owner).json()["data"]}


def test_normal_member_deletes_only_own_keys(client: TestClient, accounts: Accounts) -> None:
    owner = accounts.user("boss@example.com")
    tenant = client.get(INFO, headers=owner).json()["data"]["id"]
    accounts.register("staff@example.com")
    client.post(f"/v1/tenant/{tenant}/user", json={"email": "staff@example.com"}, headers=owner)
    member = {**accounts.login("staff@example.com"), "X-Tenant-Id": tenant}
    owners_key = new_key(client, owner)
    members_key = new_key(client, member)

    assert delete_key(client, member, owners_key["id"])["code"] == 102
    assert client.get(INFO, headers=bearer(owners_key["token"])).status_code == 200
    assert delete_key(client, member, members_key["id"])["code"] == 0
    # Owners and admins may delete any key of the tenant.
    again = new_key(client, member)
    assert delete_key(client, owner, again["token"])["code"] == 0
