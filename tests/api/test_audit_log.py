"""The audit log of configuration changes (issue 13): who, when, what — never a secret —
readable by owners and admins at ``GET /v1/system/audit_log``."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_langfuse_config import fresh_keys, save
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse

AUDIT = "/v1/system/audit_log"
PROVIDER_KEY = "sk-provider-secret-0123456789"


def audit_log(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    return client.get(AUDIT, headers=headers, params=params).json()


def test_configuration_changes_are_audited_without_secrets(
    client: TestClient, accounts: Accounts, fake_langfuse: FakeLangfuse
) -> None:
    owner = accounts.user("owner@example.com")
    member = accounts.user("member@example.com")
    tenant_id = client.get("/v1/user/info", headers=owner).json()["data"]["tenant_id"]
    member_id = client.get("/v1/user/info", headers=member).json()["data"]["id"]
    invited = client.post(
        f"/v1/tenant/{tenant_id}/user", json={"email": "member@example.com"}, headers=owner
    ).json()
    assert invited["code"] == 0, invited

    keys = fresh_keys(fake_langfuse)
    saved = save(client, owner, keys)
    assert saved["code"] == 0
    update = {**keys, "secret_key": saved["data"]["secret_key"], "sample_rate": 0.5}
    assert save(client, owner, update)["code"] == 0
    model = {
        "llm_factory": "OpenAI-API-Compatible",
        "llm_name": "audited-chat",
        "model_type": "chat",
        "api_base": "http://127.0.0.1:9/v1",
        "api_key": PROVIDER_KEY,
        "verify": False,
    }
    assert client.post("/v1/llm/add_llm", json=model, headers=owner).json()["code"] == 0
    gone = {"llm_factory": "OpenAI-API-Compatible", "llm_name": "audited-chat"}
    assert client.post("/v1/llm/delete_llm", json=gone, headers=owner).json()["code"] == 0
    token = client.post("/v1/system/new_token", headers=owner).json()["data"]
    assert client.delete(f"/v1/system/token/{token['id']}", headers=owner).json()["code"] == 0
    assert client.delete("/v1/langfuse/api_key", headers=owner).json()["code"] == 0

    # A member that is not an owner or admin may not read it.
    as_member = {**member, "X-Tenant-Id": tenant_id}
    refused = audit_log(client, as_member)
    assert refused["code"] == 108, refused
    removed = client.delete(f"/v1/tenant/{tenant_id}/user/{member_id}", headers=owner).json()
    assert removed["code"] == 0, removed

    response = client.get(AUDIT, headers=owner)
    body = response.json()
    assert body["code"] == 0, body
    events = body["data"]["events"]
    assert [event["action"] for event in events] == [
        "member.remove",
        "langfuse.delete",
        "api_key.delete",
        "api_key.create",
        "model.delete",
        "model.add",
        "langfuse.update",
        "langfuse.create",
        "member.invite",
    ]
    assert body["data"]["total"] == len(events)
    assert {event["actor"]["email"] for event in events} == {"owner@example.com"}
    assert all(event["create_time"] > 0 for event in events)
    by_action = {event["action"]: event for event in events}
    assert by_action["member.invite"]["target"] == "member@example.com"
    assert by_action["member.invite"]["changes"] == {"user_id": member_id, "role": "normal"}
    assert by_action["langfuse.update"]["changes"] == {
        "sample_rate": {"from": 1.0, "to": 0.5},
        "secret_key": "kept",
    }
    assert by_action["langfuse.create"]["changes"]["secret_key"] == "replaced"
    assert by_action["langfuse.create"]["changes"]["host"]["to"] == fake_langfuse.url
    assert by_action["model.add"]["target"] == "audited-chat@OpenAI-API-Compatible"
    assert by_action["model.add"]["changes"]["api_key"] == "replaced"
    assert by_action["api_key.delete"]["changes"] == {"id": token["id"]}
    # Never a secret, nor its mask.
    for secret in (keys["secret_key"], saved["data"]["secret_key"], PROVIDER_KEY, token["token"]):
        assert secret not in response.text
    # Paging, and another tenant sees none of it.
    page = audit_log(client, owner, page=2, page_size=4)["data"]
    assert [event["action"] for event in page["events"]] == [
        "model.delete",
        "model.add",
        "langfuse.update",
        "langfuse.create",
    ]
    other = accounts.user("other@example.com")
    assert audit_log(client, other)["data"] == {"total": 0, "events": []}
    assert audit_log(client, owner, page_size=0)["code"] == 101
