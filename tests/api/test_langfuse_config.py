"""The Langfuse configuration API (SPEC §3) over HTTP, against the Langfuse test server."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from ragprism.api.app import create_app
from ragprism.db import Database
from ragprism.models import TenantLangfuse
from ragprism.runtime import Runtime
from ragprism.settings import Settings
from tests.conftest import Accounts
from tests.support.langfuse_server import FakeLangfuse

PATHS = ["/v1/langfuse/api_key", "/api/v1/langfuse/api-key"]
NO_RECORD = "Have not record any Langfuse keys."


def fresh_keys(server: FakeLangfuse, name: str = "Traces") -> dict[str, str]:
    """A distinctive key pair registered on the test server; returns a request body."""
    secret = f"sk-lf-{uuid.uuid4()}"
    public = f"pk-lf-{uuid.uuid4()}"
    server.add_project(public, secret, project_id=f"p-{uuid.uuid4().hex[:8]}", name=name)
    return {"public_key": public, "secret_key": secret, "host": server.url}


@pytest.fixture
def owner(accounts: Accounts) -> dict[str, str]:
    return accounts.user("owner@example.com")


@pytest.fixture(params=PATHS)
def path(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def save(client: TestClient, headers: dict[str, str], body: Any, path: str = PATHS[0]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_save_get_delete_round_trip(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse, path: str
) -> None:
    assert client.get(path, headers=owner).json() == {
        "code": 0,
        "message": NO_RECORD,
        "data": None,
    }
    body = fresh_keys(fake_langfuse, "My Project")
    saved = save(client, owner, {**body, "host": fake_langfuse.url + "/"}, path)
    assert saved["code"] == 0, saved
    data = saved["data"]
    assert data["public_key"] == body["public_key"]
    assert data["host"] == fake_langfuse.url  # trailing slash normalised
    assert data["project_name"] == "My Project"
    assert data["project_id"].startswith("p-")
    assert data["project_url"] == f"{fake_langfuse.url}/project/{data['project_id']}"
    assert data["secret_key"] != body["secret_key"]
    assert data["secret_key"].startswith(body["secret_key"][:8])
    assert data["enabled"] is True
    assert data["sample_rate"] == 1.0
    assert data["capture"] == "full"
    assert data["redact"] == []

    got = client.get(path, headers=owner).json()
    assert got["code"] == 0
    assert got["data"]["secret_key"] == data["secret_key"]
    status = got["data"]["status"]
    assert status["validation"] == "valid"
    assert status["validated_at"]
    assert set(status["exporter"]) >= {"queued", "exported", "dropped", "last_error"}

    deleted = client.delete(path, headers=owner).json()
    assert deleted == {"code": 0, "message": "success", "data": True}
    assert client.get(path, headers=owner).json()["message"] == NO_RECORD
    assert client.delete(path, headers=owner).json() == {
        "code": 0,
        "message": NO_RECORD,
        "data": None,
    }


def test_both_spellings_share_one_configuration(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    body = fresh_keys(fake_langfuse)
    response = client.put(PATHS[1], json=body, headers=owner).json()
    assert response["code"] == 0, response
    assert client.get(PATHS[0], headers=owner).json()["data"]["public_key"] == body["public_key"]
    second = fresh_keys(fake_langfuse)
    assert save(client, owner, second, PATHS[0])["code"] == 0
    assert client.get(PATHS[1], headers=owner).json()["data"]["public_key"] == second["public_key"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "secret_key, public_key, host"),
        ({"secret_key": "sk"}, "public_key, host"),
        ({"secret_key": "sk", "public_key": "pk"}, "host"),
        ({"secret_key": "  ", "public_key": "pk", "host": "http://x.test"}, "secret_key"),
        ({"secret_key": "sk", "public_key": "", "host": "http://x.test"}, "public_key"),
        ({"secret_key": 123, "public_key": "pk", "host": "http://x.test"}, "secret_key"),
        ({"secret_key": "sk", "public_key": ["pk"], "host": "http://x.test"}, "public_key"),
        ({"secret_key": "sk", "public_key": "pk", "host": 5}, "host"),
        ({"secret_key": "s k", "public_key": "pk", "host": "http://x.test"}, "secret_key"),
        ({"secret_key": "sk", "public_key": "p" * 300, "host": "http://x.test"}, "public_key"),
    ],
)
def test_missing_blank_and_mistyped_fields(
    client: TestClient, owner: dict[str, str], body: dict[str, Any], fragment: str
) -> None:
    result = save(client, owner, body)
    assert result["code"] == 101, result
    assert fragment in result["message"]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b'"a string"', b"null", b""],
)
def test_malformed_bodies(client: TestClient, owner: dict[str, str], raw: bytes) -> None:
    response = client.post(
        PATHS[0], content=raw, headers={**owner, "Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["code"] == 101, response.text


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("ftp://example.com", "http:// or https://"),
        ("example.com", "http:// or https://"),
        ("http://user:pw@example.com", "credentials"),
        ("https://example.com/?x=1", "query"),
        ("https://example.com/#top", "fragment"),
        ("https://", "host name"),
        ("http://169.254.169.254", "link-local or cloud metadata"),
        ("http://[fe80::1]", "link-local"),
        ("http://[::ffff:169.254.169.254]", "link-local"),
        ("http://0.0.0.0:3000", "not a unicast"),
        ("http://nonexistent.invalid", "cannot be resolved"),
    ],
)
def test_bad_hosts_are_refused_before_any_connection(
    client: TestClient,
    owner: dict[str, str],
    host: str,
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connects: list[Any] = []
    real = socket.create_connection

    def spy(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        connects.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    result = save(client, owner, {"public_key": "pk", "secret_key": "sk", "host": host})
    assert result["code"] == 101, result
    assert fragment in result["message"]
    assert connects == []


def test_valid_keys_are_checked_against_langfuse(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    body = fresh_keys(fake_langfuse)
    before = fake_langfuse.request_count("projects")
    assert save(client, owner, body)["code"] == 0
    assert fake_langfuse.request_count("projects") == before + 1


def test_wrong_keys_store_nothing_and_keep_old_config(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    wrong = {"public_key": "pk-lf-nope", "secret_key": "sk-lf-nope", "host": fake_langfuse.url}
    assert save(client, owner, wrong) == {
        "code": 102,
        "message": "Invalid Langfuse keys",
        "data": None,
    }
    assert client.get(PATHS[0], headers=owner).json()["data"] is None

    good = fresh_keys(fake_langfuse)
    assert save(client, owner, good)["code"] == 0
    bad_secret = {**good, "secret_key": "sk-lf-wrong"}
    assert save(client, owner, bad_secret)["code"] == 102
    kept = client.get(PATHS[0], headers=owner).json()["data"]
    assert kept["public_key"] == good["public_key"]


@pytest.mark.parametrize(
    ("fault", "code", "fragment"),
    [
        ("status500", 105, "HTTP 500"),
        ("status503", 105, "HTTP 503"),
        ("status429", 105, "HTTP 429"),
        ("unauthorized", 102, "Invalid Langfuse keys"),
        ("reset", 105, "Cannot connect"),
        ("html", 102, "did not answer like a Langfuse server"),
        ("json", 102, "did not answer like a Langfuse server"),
        ("status404", 102, "HTTP 404"),
        ("redirect", 102, "redirects"),
    ],
)
def test_upstream_failures_map_to_codes(
    client: TestClient,
    owner: dict[str, str],
    fake_langfuse: FakeLangfuse,
    fault: str,
    code: int,
    fragment: str,
) -> None:
    body = fresh_keys(fake_langfuse)
    if fault.startswith("status"):
        fake_langfuse.status(int(fault[6:]), retry_after=1 if fault == "status429" else None)
    elif fault == "unauthorized":
        fake_langfuse.unauthorized()
    elif fault == "reset":
        fake_langfuse.reset()
    elif fault == "redirect":
        fake_langfuse.status(302, {"message": "moved"})
    else:
        fake_langfuse.not_langfuse(fault)  # type: ignore[arg-type]
    result = save(client, owner, body)
    assert result["code"] == code, result
    assert fragment in result["message"]
    if code == 105:
        assert fake_langfuse.url in result["message"]
    assert body["secret_key"] not in str(result)
    assert client.get(PATHS[0], headers=owner).json()["data"] is None


def test_hung_langfuse_gives_105_within_the_timeout(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    body = fresh_keys(fake_langfuse)
    fake_langfuse.hang(endpoints="projects")
    result = save(client, owner, body)
    assert result["code"] == 105
    assert "did not answer within 1 s" in result["message"]


def test_unreachable_host_gives_105(client: TestClient, owner: dict[str, str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now.
    body = {"public_key": "pk", "secret_key": "sk", "host": f"http://127.0.0.1:{port}"}
    result = save(client, owner, body)
    assert result["code"] == 105
    assert f"127.0.0.1:{port}" in result["message"]


def test_masked_secret_keeps_the_stored_one(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    body = fresh_keys(fake_langfuse)
    masked = save(client, owner, body)["data"]["secret_key"]
    again = client.put(
        PATHS[1], json={**body, "secret_key": masked, "sample_rate": 0.25}, headers=owner
    ).json()
    assert again["code"] == 0, again
    assert again["data"]["sample_rate"] == 0.25
    assert again["data"]["secret_key"] == masked

    other = FakeLangfuse(public_key=body["public_key"], secret_key=body["secret_key"])
    with other:
        moved = client.put(
            PATHS[1], json={**body, "secret_key": masked, "host": other.url}, headers=owner
        ).json()
        assert moved["code"] == 101
        assert "secret key again" in moved["message"]
        assert other.request_count() == 0


def test_options_are_validated_and_kept(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    body = fresh_keys(fake_langfuse)
    options = {
        "enabled": False,
        "sample_rate": 0.5,
        "capture": "metadata",
        "redact": ["email", "api_key", "email"],
        "environment": "staging",
    }
    data = save(client, owner, {**body, **options})["data"]
    assert data["enabled"] is False
    assert data["sample_rate"] == 0.5
    assert data["capture"] == "metadata"
    assert data["redact"] == ["email", "api_key"]
    assert data["environment"] == "staging"
    # Omitted options keep their stored values.
    data = save(client, owner, body)["data"]
    assert data["capture"] == "metadata"
    assert data["environment"] == "staging"

    for bad, field in [
        ({"sample_rate": 1.5}, "sample_rate"),
        ({"sample_rate": -0.1}, "sample_rate"),
        ({"sample_rate": "often"}, "sample_rate"),
        ({"capture": "everything"}, "capture"),
        ({"redact": ["ssn"]}, "redact"),
        ({"redact": "email"}, "redact"),
        ({"environment": "Prod Env"}, "environment"),
        ({"environment": "langfuse-x"}, "environment"),
        ({"enabled": "yes"}, "enabled"),
    ]:
        result = save(client, owner, {**body, **bad})
        assert result["code"] == 101, (bad, result)
        assert field in result["message"], (bad, result)


def test_default_host_is_used_when_host_is_omitted(
    settings: Settings, database: Database, fake_langfuse: FakeLangfuse, accounts: Accounts
) -> None:
    with_default = settings.model_copy(update={"langfuse_default_host": fake_langfuse.url})
    state = Runtime.build(with_default, database)
    with TestClient(create_app(state=state)) as client:
        headers = Accounts(client).user("dflt@example.com")
        body = fresh_keys(fake_langfuse)
        del body["host"]
        data = save(client, headers, {**body, "host": ""})["data"]
        assert data["host"] == fake_langfuse.url
    state.close()


def test_member_reads_masked_but_cannot_write(
    client: TestClient, accounts: Accounts, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    body = fresh_keys(fake_langfuse)
    save(client, owner, body)
    tenant_id = client.get("/v1/user/info", headers=owner).json()["data"]["tenant_id"]
    member = accounts.user("member@example.com")
    invited = client.post(
        f"/v1/tenant/{tenant_id}/user", json={"email": "member@example.com"}, headers=owner
    ).json()
    assert invited["code"] == 0, invited
    as_member = {**member, "X-Tenant-Id": tenant_id}
    seen = client.get(PATHS[0], headers=as_member).json()["data"]
    assert seen["public_key"] == body["public_key"]
    assert seen["secret_key"] != body["secret_key"]
    for method in ("post", "put"):
        result = getattr(client, method)(
            PATHS[1], json=fresh_keys(fake_langfuse), headers=as_member
        )
        assert result.json()["code"] == 108
    assert client.delete(PATHS[0], headers=as_member).json()["code"] == 108
    assert client.get(PATHS[0], headers=owner).json()["data"]["public_key"] == body["public_key"]


def test_tenants_never_see_each_other(
    client: TestClient, accounts: Accounts, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    save(client, owner, fresh_keys(fake_langfuse))
    tenant_id = client.get("/v1/user/info", headers=owner).json()["data"]["tenant_id"]
    stranger = accounts.user("stranger@example.com")
    assert client.get(PATHS[0], headers=stranger).json()["data"] is None
    assert client.delete(PATHS[0], headers=stranger).json()["message"] == NO_RECORD
    foreign = client.get(PATHS[0], headers={**stranger, "X-Tenant-Id": tenant_id}).json()
    assert foreign["code"] == 102
    assert foreign["data"] is None
    assert client.get(PATHS[0], headers=owner).json()["data"] is not None


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_without_valid_token_http_401(client: TestClient, method: str, path: str) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "ragflow-nope"}):
        response = client.request(method.upper(), path, headers=headers, json={})
        assert response.status_code == 401
        assert response.json()["code"] == 401


def test_get_never_calls_langfuse(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    save(client, owner, fresh_keys(fake_langfuse))
    fake_langfuse.hang()
    before = fake_langfuse.request_count("projects")
    for _ in range(5):
        assert client.get(PATHS[0], headers=owner).json()["code"] == 0
    assert fake_langfuse.request_count("projects") == before
    assert fake_langfuse.hanging == 0


def test_stale_status_is_revalidated_in_the_background(
    settings: Settings, database: Database, fake_langfuse: FakeLangfuse
) -> None:
    eager = settings.model_copy(update={"langfuse_revalidate_seconds": 0})
    state = Runtime.build(eager, database)
    with TestClient(create_app(state=state)) as client:
        accounts = Accounts(client)
        headers = accounts.user("bg@example.com")
        body = fresh_keys(fake_langfuse)
        save(client, headers, body)
        # The keys are revoked upstream and Langfuse hangs: GET still answers at once
        # (the check runs in the background and times out there).
        fake_langfuse.add_project(body["public_key"], "sk-lf-rotated-elsewhere")
        fake_langfuse.hang(endpoints="projects")
        assert client.get(PATHS[0], headers=headers).json()["data"]["status"]["validation"] == (
            "valid"
        )
        fake_langfuse.wait_for_hanging(1)
        # Every check hangs while Langfuse does, so "unreachable" stays until it answers
        # (a single hang would let the next GET's check overwrite it at once).
        status = _poll_status(client, headers, lambda s: s["validation"] == "unreachable")
        assert "did not answer" in status["message"]
        fake_langfuse.clear_faults()
        status = _poll_status(client, headers, lambda s: s["validation"] == "invalid_keys")
        assert status["message"] == "Invalid Langfuse keys"
    state.close()


def _poll_status(client: TestClient, headers: dict[str, str], done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = client.get(PATHS[0], headers=headers).json()["data"]["status"]
        if done(status):
            return status
        time.sleep(0.05)
    raise AssertionError(f"status never reached the expected state: {status}")


def _dump(database: Database, tmp_path: Path) -> bytes:
    """Everything the database holds, as bytes."""
    url = make_url(database.url)
    if database.backend == "sqlite":
        database.dispose()
        assert url.database
        files = [Path(url.database), Path(url.database + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    if database.backend == "postgresql":
        cmd = ["pg_dump", "-h", url.host or "127.0.0.1", "-U", url.username or "postgres"]
        return subprocess.run([*cmd, url.database or ""], check=True, capture_output=True).stdout
    cmd = ["mysqldump", "-h", url.host or "127.0.0.1", "-u", url.username or "root"]
    return subprocess.run([*cmd, url.database or ""], check=True, capture_output=True).stdout


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def test_secret_never_in_database_responses_or_logs(
    client: TestClient,
    owner: dict[str, str],
    fake_langfuse: FakeLangfuse,
    database: Database,
    tmp_path: Path,
    captured_logs: pytest.LogCaptureFixture,
) -> None:
    body = fresh_keys(fake_langfuse)
    secret = body["secret_key"]
    responses = [save(client, owner, body)]
    responses.append(client.get(PATHS[0], headers=owner).json())
    responses.append(client.put(PATHS[1], json=body, headers=owner).json())
    fake_langfuse.status(500)
    responses.append(save(client, owner, body))
    fake_langfuse.clear_faults()
    for response in responses:
        assert secret not in str(response)
    assert secret not in captured_logs.text
    with database.session() as session:
        row = session.scalars(select(TenantLangfuse)).one()
        assert row.secret_key_enc != secret
    dump = _dump(database, tmp_path)
    assert body["public_key"].encode() in dump  # the dump does hold the table...
    assert secret.encode() not in dump  # ...but never the secret in plaintext
    assert secret[6:].encode() not in dump


def test_no_private_policy_refuses_loopback(
    settings: Settings, database: Database, fake_langfuse: FakeLangfuse
) -> None:
    strict = settings.model_copy(update={"langfuse_host_policy": ["no-private"]})
    state = Runtime.build(strict, database)
    with TestClient(create_app(state=state)) as client:
        headers = Accounts(client).user("strict@example.com")
        result = save(client, headers, fresh_keys(fake_langfuse))
        assert result["code"] == 101
        assert "private or loopback" in result["message"]
    state.close()


def test_allowlist_policy(
    settings: Settings, database: Database, fake_langfuse: FakeLangfuse
) -> None:
    allow = settings.model_copy(update={"langfuse_host_policy": ["langfuse.internal", "localhost"]})
    state = Runtime.build(allow, database)
    with TestClient(create_app(state=state)) as client:
        headers = Accounts(client).user("allow@example.com")
        refused = save(client, headers, fresh_keys(fake_langfuse))
        assert refused["code"] == 101
        assert "allowlist" in refused["message"]
        body = fresh_keys(fake_langfuse)
        body["host"] = f"http://localhost:{fake_langfuse.port}"
        assert save(client, headers, body)["code"] == 0
    state.close()


@pytest.mark.parametrize("field", ["host", "public_key", "secret_key"])
def test_control_characters_are_refused(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse, field: str
) -> None:
    body = fresh_keys(fake_langfuse)
    body[field] = body[field][:10] + "\x00" + body[field][10:]
    result = save(client, owner, body)
    assert result["code"] == 101, result
    assert field in result["message"]


def test_cleartext_http_host_is_refused_unless_loopback(
    client: TestClient, owner: dict[str, str], fake_langfuse: FakeLangfuse
) -> None:
    body = fresh_keys(fake_langfuse)
    body["host"] = "http://192.0.2.1"  # not loopback: the secret would cross in clear
    result = save(client, owner, body)
    assert result["code"] == 101, result
    assert "host" in result["message"]
    assert "in clear" in result["message"]
    assert fake_langfuse.port  # a loopback http:// host is fine (the test server)
    assert save(client, owner, fresh_keys(fake_langfuse))["code"] == 0
