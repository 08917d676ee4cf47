"""``/v1/tenant``: teams, roles, ``X-Tenant-Id`` and tenant isolation (SPEC §1, §2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Accounts

MISSING_ID = "0123456789abcdef0123456789abcdef"


@dataclass
class Member:
    id: str
    email: str
    headers: dict[str, str]


Team = Callable[[str], Member]


@pytest.fixture
def team(accounts: Accounts) -> Team:
    """Registers users on demand: ``team("ann")`` is ann@example.com, logged in."""

    def make(name: str) -> Member:
        email = f"{name}@example.com"
        user_id = accounts.register(email)
        return Member(user_id, email, accounts.login(email))

    return make


def invite(
    client: TestClient, by: Member, tenant_id: str, email: str, role: str | None = None
) -> dict[str, Any]:
    payload = {"email": email} if role is None else {"email": email, "role": role}
    body: dict[str, Any] = client.post(
        f"/v1/tenant/{tenant_id}/user", json=payload, headers=by.headers
    ).json()
    return body


def remove(client: TestClient, by: Member, tenant_id: str, user_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.delete(
        f"/v1/tenant/{tenant_id}/user/{user_id}", headers=by.headers
    ).json()
    return body


def tenants_of(client: TestClient, who: Member) -> dict[str, str]:
    body = client.get("/v1/tenant/list", headers=who.headers).json()
    assert body["code"] == 0, body
    return {row["tenant_id"]: row["role"] for row in body["data"]}


def members_of(client: TestClient, who: Member, tenant_id: str) -> dict[str, str]:
    body = client.get(f"/v1/tenant/{tenant_id}/user/list", headers=who.headers).json()
    assert body["code"] == 0, body
    return {row["user_id"]: row["role"] for row in body["data"]}


def same_but_for_id(foreign: dict[str, Any], foreign_id: str, missing: dict[str, Any]) -> bool:
    """Whether two answers differ only by the id they echo."""
    return {**foreign, "message": foreign["message"].replace(foreign_id, "<id>")} == {
        **missing,
        "message": missing["message"].replace(MISSING_ID, "<id>"),
    }


def test_tenant_list_shows_own_tenant_then_the_one_joined(client: TestClient, team: Team) -> None:
    ann, bob = team("ann"), team("bob")
    assert tenants_of(client, bob) == {bob.id: "owner"}

    body = invite(client, ann, ann.id, " BOB@example.com ")
    assert body["code"] == 0, body
    assert body["data"]["user_id"] == bob.id
    assert body["data"]["tenant_id"] == ann.id
    assert body["data"]["role"] == "normal"

    assert tenants_of(client, bob) == {bob.id: "owner", ann.id: "normal"}
    rows = client.get("/v1/tenant/list", headers=bob.headers).json()["data"]
    joined = next(row for row in rows if row["tenant_id"] == ann.id)
    assert joined["email"] == ann.email  # the owner of the tenant joined
    assert tenants_of(client, ann) == {ann.id: "owner"}


def test_owner_invites_admin_and_everyone_lists_members(client: TestClient, team: Team) -> None:
    ann, bob, cat = team("ann"), team("bob"), team("cat")
    assert invite(client, ann, ann.id, bob.email, "admin")["data"]["role"] == "admin"
    assert invite(client, ann, ann.id, cat.email)["code"] == 0
    expected = {ann.id: "owner", bob.id: "admin", cat.id: "normal"}
    for who in (ann, bob, cat):
        assert members_of(client, who, ann.id) == expected
    assert members_of(client, bob, bob.id) == {bob.id: "owner"}


def test_invite_errors(client: TestClient, team: Team) -> None:
    ann, bob = team("ann"), team("bob")
    unknown = invite(client, ann, ann.id, "nobody@example.com")
    assert unknown["code"] == 102
    assert "nobody@example.com" in unknown["message"]
    assert invite(client, ann, ann.id, ann.email)["code"] == 102  # already the owner
    assert invite(client, ann, ann.id, bob.email)["code"] == 0
    duplicate = invite(client, ann, ann.id, bob.email, "admin")
    assert duplicate["code"] == 102
    assert "already" in duplicate["message"]
    assert members_of(client, ann, ann.id) == {ann.id: "owner", bob.id: "normal"}

    for payload, field in (
        ({}, "email"),
        ({"email": bob.email, "role": "owner"}, "role"),
        ({"email": 7}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "x\x00@example.com"}, "email"),
    ):
        body = client.post(f"/v1/tenant/{ann.id}/user", json=payload, headers=ann.headers).json()
        assert body["code"] == 101, (payload, body)
        assert body["message"].startswith(f"{field}:"), (payload, body)


def test_normal_member_cannot_invite(client: TestClient, team: Team) -> None:
    ann, bob, cat = team("ann"), team("bob"), team("cat")
    invite(client, ann, ann.id, bob.email)
    assert invite(client, bob, ann.id, cat.email)["code"] == 108
    assert invite(client, bob, ann.id, cat.email, "admin")["code"] == 108
    assert cat.id not in members_of(client, ann, ann.id)


def test_admin_invites_normal_members_but_cannot_grant_admin(
    client: TestClient, team: Team
) -> None:
    ann, bob, cat = team("ann"), team("bob"), team("cat")
    invite(client, ann, ann.id, bob.email, "admin")
    assert invite(client, bob, ann.id, cat.email, "admin")["code"] == 108
    assert cat.id not in members_of(client, ann, ann.id)
    assert invite(client, bob, ann.id, cat.email)["code"] == 0
    assert members_of(client, ann, ann.id)[cat.id] == "normal"


def test_removing_members(client: TestClient, team: Team) -> None:
    ann, bob, cat, dan = team("ann"), team("bob"), team("cat"), team("dan")
    invite(client, ann, ann.id, bob.email, "admin")
    invite(client, ann, ann.id, cat.email)
    invite(client, ann, ann.id, dan.email)

    # Nobody removes the owner, not even the owner.
    for who in (ann, bob, cat):
        assert remove(client, who, ann.id, ann.id)["code"] == 103
    assert remove(client, cat, ann.id, dan.id)["code"] == 108  # normal removes another
    assert remove(client, bob, ann.id, bob.id)["code"] == 0  # an admin leaves
    assert members_of(client, ann, ann.id) == {
        ann.id: "owner",
        cat.id: "normal",
        dan.id: "normal",
    }

    assert remove(client, cat, ann.id, cat.id) == {"code": 0, "message": "success", "data": True}
    assert tenants_of(client, cat) == {cat.id: "owner"}
    assert remove(client, ann, ann.id, dan.id)["code"] == 0
    assert tenants_of(client, dan) == {dan.id: "owner"}
    assert members_of(client, ann, ann.id) == {ann.id: "owner"}
    # Gone means gone: a second removal finds nobody, and a former member sees nothing.
    assert remove(client, ann, ann.id, dan.id)["code"] == 102
    assert client.get(f"/v1/tenant/{ann.id}/user/list", headers=dan.headers).json()["code"] == 102


def test_admin_removes_normal_members_but_not_admins(client: TestClient, team: Team) -> None:
    ann, bob, cat = team("ann"), team("bob"), team("cat")
    invite(client, ann, ann.id, bob.email, "admin")
    invite(client, ann, ann.id, cat.email, "admin")
    assert remove(client, bob, ann.id, cat.id)["code"] == 108
    assert remove(client, ann, ann.id, cat.id)["code"] == 0
    invite(client, ann, ann.id, cat.email)
    assert remove(client, bob, ann.id, cat.id)["code"] == 0
    assert members_of(client, ann, ann.id) == {ann.id: "owner", bob.id: "admin"}


def test_member_acts_on_the_other_tenant_with_x_tenant_id(client: TestClient, team: Team) -> None:
    ann, bob = team("ann"), team("bob")
    ann_key = client.post("/v1/system/new_token", headers=ann.headers).json()["data"]
    invite(client, ann, ann.id, bob.email)
    in_ann = {**bob.headers, "X-Tenant-Id": ann.id}

    info = client.get("/v1/user/info", headers=in_ann).json()["data"]
    assert (info["id"], info["tenant_id"], info["role"]) == (bob.id, ann.id, "normal")
    listed = client.get("/v1/system/token_list", headers=in_ann).json()
    assert listed["code"] == 0
    assert [row["id"] for row in listed["data"]] == [ann_key["id"]]
    # Without the header bob acts on his own tenant, which has no keys.
    assert client.get("/v1/system/token_list", headers=bob.headers).json()["data"] == []
    own = client.get("/v1/user/info", headers=bob.headers).json()["data"]
    assert (own["tenant_id"], own["role"]) == (bob.id, "owner")


def test_x_tenant_id_of_a_foreign_tenant_behaves_as_missing(client: TestClient, team: Team) -> None:
    ann, eve = team("ann"), team("eve")
    for path in ("/v1/user/info", "/v1/system/token_list"):
        foreign = client.get(path, headers={**eve.headers, "X-Tenant-Id": ann.id})
        missing = client.get(path, headers={**eve.headers, "X-Tenant-Id": MISSING_ID})
        assert foreign.status_code == missing.status_code == 200
        assert foreign.json()["code"] == 102
        assert "not found" in foreign.json()["message"]
        assert same_but_for_id(foreign.json(), ann.id, missing.json())


def test_another_tenant_cannot_touch_api_keys(client: TestClient, team: Team) -> None:
    ann, eve = team("ann"), team("eve")
    key = client.post("/v1/system/new_token", headers=ann.headers).json()["data"]
    masked = client.get("/v1/system/token_list", headers=ann.headers).json()["data"][0]["token"]
    eve_key = client.post("/v1/system/new_token", headers=eve.headers).json()["data"]

    eve_list = client.get("/v1/system/token_list", headers=eve.headers).json()["data"]
    assert [row["id"] for row in eve_list] == [eve_key["id"]]
    missing = client.delete(f"/v1/system/token/{MISSING_ID}", headers=eve.headers).json()
    for handle in (key["token"], key["id"], masked):
        foreign = client.delete(
            f"/v1/system/token/{quote(handle, safe='')}", headers=eve.headers
        ).json()
        assert foreign == missing == {"code": 102, "message": "API key not found.", "data": None}
    # The same key used as eve's credential acts on ann's tenant, not eve's.
    as_key = {"Authorization": f"Bearer {key['token']}", "X-Tenant-Id": eve.id}
    assert client.get("/v1/user/info", headers=as_key).json()["data"]["tenant_id"] == ann.id
    ann_list = client.get("/v1/system/token_list", headers=ann.headers).json()["data"]
    assert [row["id"] for row in ann_list] == [key["id"]]


def test_another_tenant_cannot_see_or_change_members(client: TestClient, team: Team) -> None:
    ann, bob, eve = team("ann"), team("bob"), team("eve")
    invite(client, ann, ann.id, bob.email)

    def pair(method: str, template: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        foreign = client.request(
            method, template.format(tenant=ann.id), headers=eve.headers, **kwargs
        ).json()
        missing = client.request(
            method, template.format(tenant=MISSING_ID), headers=eve.headers, **kwargs
        ).json()
        return foreign, missing

    for method, template, kwargs in (
        ("GET", "/v1/tenant/{tenant}/user/list", {}),
        ("POST", "/v1/tenant/{tenant}/user", {"json": {"email": eve.email}}),
        ("DELETE", "/v1/tenant/{tenant}/user/" + bob.id, {}),
        ("DELETE", "/v1/tenant/{tenant}/user/" + ann.id, {}),
    ):
        foreign, missing = pair(method, template, **kwargs)
        assert foreign["code"] == 102, (method, template, foreign)
        assert same_but_for_id(foreign, ann.id, missing), (foreign, missing)
    assert members_of(client, ann, ann.id) == {ann.id: "owner", bob.id: "normal"}
    assert tenants_of(client, eve) == {eve.id: "owner"}


def set_role(
    client: TestClient, by: Member, tenant_id: str, user_id: str, role: object
) -> dict[str, Any]:
    body: dict[str, Any] = client.put(
        f"/v1/tenant/{tenant_id}/user/{user_id}", json={"role": role}, headers=by.headers
    ).json()
    return body


def test_the_owner_changes_members_roles(client: TestClient, team: Team) -> None:
    ann, bob, cat = team("ann"), team("bob"), team("cat")
    invite(client, ann, ann.id, bob.email)
    invite(client, ann, ann.id, cat.email, "admin")

    promoted = set_role(client, ann, ann.id, bob.id, "admin")
    assert promoted["code"] == 0, promoted
    assert promoted["data"]["user_id"] == bob.id
    assert promoted["data"]["role"] == "admin"
    assert set_role(client, ann, ann.id, cat.id, "normal")["data"]["role"] == "normal"
    assert members_of(client, bob, ann.id) == {ann.id: "owner", bob.id: "admin", cat.id: "normal"}
    assert tenants_of(client, bob)[ann.id] == "admin"
    # The new role applies at once: bob, now admin, may change the tenant's settings.
    headers = {**bob.headers, "X-Tenant-Id": ann.id}
    assert client.get("/v1/user/info", headers=headers).json()["data"]["role"] == "admin"


def test_only_the_owner_changes_roles(client: TestClient, team: Team) -> None:
    ann, bob, cat = team("ann"), team("bob"), team("cat")
    invite(client, ann, ann.id, bob.email, "admin")
    invite(client, ann, ann.id, cat.email)
    assert set_role(client, bob, ann.id, cat.id, "admin")["code"] == 108  # an admin
    assert set_role(client, bob, ann.id, bob.id, "normal")["code"] == 108  # even their own
    assert set_role(client, cat, ann.id, cat.id, "admin")["code"] == 108  # a member
    assert members_of(client, ann, ann.id) == {ann.id: "owner", bob.id: "admin", cat.id: "normal"}


def test_role_change_errors_name_the_field(client: TestClient, team: Team) -> None:
    ann, bob, cat = team("ann"), team("bob"), team("cat")
    invite(client, ann, ann.id, bob.email)
    for role in ("owner", "root", "", None, 3):
        body = set_role(client, ann, ann.id, bob.id, role)
        assert body["code"] == 101, (role, body)
        assert "role" in body["message"]
    missing = client.put(f"/v1/tenant/{ann.id}/user/{bob.id}", json={}, headers=ann.headers)
    assert missing.json()["code"] == 101
    assert "role" in missing.json()["message"]
    # The owner keeps the owner role; a non-member and a foreign tenant are not found.
    assert set_role(client, ann, ann.id, ann.id, "normal")["code"] == 103
    assert set_role(client, ann, ann.id, cat.id, "admin")["code"] == 102
    assert set_role(client, ann, ann.id, MISSING_ID, "admin")["code"] == 102
    assert set_role(client, ann, ann.id, "not-an-id", "admin")["code"] == 102
    foreign = set_role(client, cat, ann.id, bob.id, "admin")
    missing_tenant = set_role(client, cat, MISSING_ID, bob.id, "admin")
    assert foreign["code"] == missing_tenant["code"] == 102
    assert same_but_for_id(foreign, ann.id, missing_tenant)
    assert members_of(client, ann, ann.id) == {ann.id: "owner", bob.id: "normal"}
