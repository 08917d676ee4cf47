"""Bad input gets a 4xx envelope, never a 5xx or a stack trace; oversized bodies are refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response  # what Starlette's TestClient returns
from sqlalchemy import func, select

from ragprism.api.app import create_app
from ragprism.models import User
from ragprism.runtime import Runtime
from ragprism.settings import Settings
from tests.conftest import Accounts

REGISTER = "/v1/user/register"
LIMIT = 1_048_576  # Settings.max_body_bytes by default
TOO_LARGE = {"code": 101, "message": f"request body too large (limit {LIMIT} bytes)", "data": None}


def padded_register_body(size: int) -> bytes:
    """A valid registration whose nickname pads the JSON to exactly ``size`` bytes."""
    template = {"email": "big@example.com", "password": "correct horse 1", "nickname": ""}
    overhead = len(json.dumps(template).encode())
    return json.dumps({**template, "nickname": "n" * (size - overhead)}).encode()


def user_count(state: Runtime) -> int:
    with state.db.session() as session:
        return session.scalar(select(func.count()).select_from(User)) or 0


def test_oversized_body_with_content_length_is_refused(
    client: TestClient, state: Runtime, settings: Settings
) -> None:
    assert settings.max_body_bytes == LIMIT
    body = padded_register_body(2 * LIMIT)
    response = client.post(REGISTER, content=body, headers={"Content-Type": "application/json"})
    assert response.request.headers["Content-Length"] == str(2 * LIMIT)
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert user_count(state) == 0


def test_oversized_chunked_body_without_content_length_is_refused(
    client: TestClient, state: Runtime
) -> None:
    body = padded_register_body(2 * LIMIT)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = client.post(REGISTER, content=chunks(), headers={"Content-Type": "application/json"})
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert user_count(state) == 0


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_at_the_limit_reaches_the_route(client: TestClient, chunked: bool) -> None:
    body = padded_register_body(LIMIT)
    content: Any = iter([body[: LIMIT // 2], body[LIMIT // 2 :]]) if chunked else body
    response = client.post(REGISTER, content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    # Parsed and validated: refused for its field, not for its size.
    assert response.json()["code"] == 101
    assert response.json()["message"].startswith("nickname:")


def check_handled(response: Response, what: str) -> list[str]:
    """Problems with a response to bad input: a 5xx, a trace, or no envelope."""
    problems = []
    if response.status_code >= 500:
        problems.append(f"{what}: HTTP {response.status_code}")
    if "Traceback" in response.text or 'File "' in response.text:
        problems.append(f"{what}: stack trace in the response")
    try:
        body = response.json()
    except ValueError:
        return [*problems, f"{what}: not JSON: {response.text[:80]!r}"]
    if not isinstance(body, dict) or body.get("code") in (None, 0) or not body.get("message"):
        problems.append(f"{what}: not a failure envelope: {body!r}")
    return problems


def test_bad_input_everywhere_is_handled(client: TestClient, accounts: Accounts) -> None:
    user_id = accounts.register("ann@example.com")
    auth = accounts.login("ann@example.com")
    json_type = {"Content-Type": "application/json"}
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", REGISTER, {"json": {"email": "a\x00@example.com", "password": "p" * 10}}),
        (
            "POST",
            REGISTER,
            {"json": {"email": "b@example.com", "password": "p" * 10, "nickname": "\x00"}},
        ),
        ("POST", REGISTER, {"json": {"email": {"$ne": ""}, "password": {"$ne": ""}}}),
        ("POST", REGISTER, {"json": {"email": "c@example.com", "password": 1e308}}),
        ("POST", REGISTER, {"content": b"\xff\xfe\x00{", "headers": json_type}),
        ("POST", REGISTER, {"content": "{" * 5000, "headers": json_type}),
        ("POST", REGISTER, {"data": {"email": "d@example.com", "password": "p" * 10}}),
        ("POST", "/v1/user/login", {"json": {"email": "a\x00@example.com", "password": "x"}}),
        ("POST", "/v1/user/login", {"json": {"email": None, "password": None}}),
        ("POST", "/v1/user/login", {"json": ["ann@example.com"]}),
        ("PUT", "/v1/user/login", {"json": {}}),
        ("GET", "/v1/no/such/route", {}),
        ("GET", "/v1/user/info", {"headers": {"Authorization": "Bearer \x7f"}}),
        ("GET", "/v1/user/info", {"headers": {**auth, "X-Tenant-Id": "x" * 33}}),
        ("GET", "/v1/user/info", {"headers": {**auth, "X-Tenant-Id": "../../etc"}}),
        ("GET", "/v1/tenant/%00/user/list", {"headers": auth}),
        ("GET", "/v1/tenant/%FF%FE/user/list", {"headers": auth}),
        ("GET", "/v1/tenant/" + "a" * 33 + "/user/list", {"headers": auth}),
        ("POST", f"/v1/tenant/{user_id}/user", {"json": {"email": "x\x00@e.com"}, "headers": auth}),
        (
            "POST",
            f"/v1/tenant/{user_id}/user",
            {"json": {"email": "b@e.com", "role": "root"}, "headers": auth},
        ),
        (
            "POST",
            f"/v1/tenant/{user_id}/user",
            {"content": "nope", "headers": {**auth, **json_type}},
        ),
        ("POST", "/v1/tenant/%00/user", {"json": {"email": "b@example.com"}, "headers": auth}),
        ("DELETE", f"/v1/tenant/{user_id}/user/%00", {"headers": auth}),
        ("DELETE", f"/v1/tenant/{user_id}/user/%E2%80%A6", {"headers": auth}),
        ("DELETE", "/v1/system/token/%00", {"headers": auth}),
        ("DELETE", "/v1/system/token/%FF", {"headers": auth}),
        ("DELETE", "/v1/system/token/" + "t" * 600, {"headers": auth}),
        ("DELETE", "/v1/system/token/%20", {"headers": auth}),
    ]
    problems: list[str] = []
    for method, path, kwargs in requests:
        problems += check_handled(client.request(method, path, **kwargs), f"{method} {path}")
    assert problems == []


def test_method_not_allowed_keeps_the_allow_header(client: TestClient) -> None:
    response = client.put("/v1/user/login", json={})
    assert response.status_code == 405
    assert response.json()["code"] == 101
    assert "POST" in response.headers["Allow"]


def test_a_bug_answers_500_without_internals(
    state: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(state=state)

    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/v1/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/v1/explode")
    assert response.status_code == 500
    assert response.json() == {"code": 500, "message": "Internal server error.", "data": None}
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
    # The operator still gets the trace, in the log.
    assert any(record.exc_info for record in caplog.records)


def test_a_nested_field_of_the_wrong_type_is_named(client: TestClient, accounts: Accounts) -> None:
    headers = accounts.user("nested@example.com")
    body = client.post(
        "/api/v1/datasets", json={"name": "ds", "parser_config": "x"}, headers=headers
    ).json()
    assert body["code"] == 101
    assert "parser_config" in body["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/datasets",
            '{"name": "kb", "parser_config": {"delimiter": "\\ud800"}}',
            "parser_config.delimiter",
        ),
        (
            "/api/v1/datasets/0123456789abcdef0123456789abcdef/documents/"
            "0123456789abcdef0123456789abcdef",
            '{"meta_fields": {"author": "x\\udfff"}}',
            "meta_fields.author",
        ),
        (
            "/api/v1/chat/completions",
            '{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\udc00"}]}]}',
            "messages[0].content[0].text",
        ),
    ],
)
def test_a_lone_surrogate_is_refused_and_nothing_is_stored(
    client: TestClient, accounts: Accounts, path: str, body: str, field: str
) -> None:
    headers = {**accounts.user("surrogate@example.com"), "Content-Type": "application/json"}
    method = "PUT" if "/documents/" in path else "POST"
    response = client.request(method, path, content=body.encode(), headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "code": 101,
        "message": f"{field}: invalid Unicode (a lone UTF-16 surrogate)",
        "data": None,
    }
    listed = client.get("/api/v1/datasets", headers=headers).json()
    assert listed["code"] == 0, listed
    assert listed["data"] == []
    # A surrogate *pair* is valid Unicode (an emoji) and passes.
    fine = '{"name": "kb", "description": "\\ud83d\\ude00"}'
    created = client.post("/api/v1/datasets", content=fine.encode(), headers=headers).json()
    assert created["code"] == 0, created
    assert created["data"]["description"] == "\U0001f600"


@pytest.mark.parametrize(
    "path", [REGISTER, "/api/v1/datasets", "/api/v1/chats/0123456789abcdef0123456789abcdef"]
)
def test_a_multipart_label_gets_the_upload_limit_only_on_upload_routes(
    client: TestClient, state: Runtime, path: str
) -> None:
    # Labelling a 2 MiB body multipart must not lift the 1 MiB limit of other routes.
    body = b"x" * (2 * LIMIT)
    headers = {"Content-Type": "multipart/form-data; boundary=zzz"}
    response = client.post(path, content=body, headers=headers)
    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert user_count(state) == 0


def test_upload_routes_keep_the_upload_limit(client: TestClient, accounts: Accounts) -> None:
    headers = accounts.user("uploader@example.com")
    dataset = client.post("/api/v1/datasets", json={"name": "big"}, headers=headers).json()
    url = f"/api/v1/datasets/{dataset['data']['id']}/documents"
    big = {"file": ("big.txt", b"word " * (LIMIT // 2), "text/plain")}  # 2.5 MiB of text
    uploaded = client.post(url, files=big, headers=headers).json()
    assert uploaded["code"] == 0, uploaded
