"""`ragprism serve` as a user runs it: a real process on a loopback port."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from tests.support.langfuse_server import FakeLangfuse


@pytest.mark.slow
def test_serve_migrates_and_answers(
    live_server: tuple[str, Path], langfuse_server: FakeLangfuse
) -> None:
    url, data_dir = live_server
    key_file = data_dir / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with httpx.Client(base_url=url) as http:
        account = {"email": "live@example.com", "password": "live-password"}
        assert http.post("/v1/user/register", json=account).json()["code"] == 0
        login = http.post("/v1/user/login", json=account)
        token = login.headers["Authorization"]
        assert token == login.json()["data"]["access_token"]
        body = {
            "public_key": langfuse_server.public_key,
            "secret_key": langfuse_server.secret_key,
            "host": langfuse_server.url,
        }
        saved = http.post("/v1/langfuse/api_key", json=body, headers={"Authorization": token})
        assert saved.json()["code"] == 0, saved.text
        assert saved.json()["data"]["project_id"] == langfuse_server.project_id
        assert http.get("/openapi.json").status_code == 200
        assert http.get("/v1/user/info").status_code == 401
