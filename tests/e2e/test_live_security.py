"""What a running server leaves on disk and in its log (issue 13's review findings)."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest


@pytest.mark.slow
def test_data_files_are_owner_only_and_the_access_log_holds_no_api_key(
    live_server: tuple[str, Path], api_key: str, tmp_path: Path
) -> None:
    url, data_dir = live_server
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=url, headers=headers) as http:
        # A second key, deleted by its id; the first deleted by the key itself (RAGFlow).
        second = http.post("/v1/system/new_token").json()["data"]
        assert http.delete(f"/v1/system/token/{second['id']}").json() == {
            "code": 0,
            "message": "success",
            "data": True,
        }
        other = http.post("/v1/system/new_token").json()["data"]["token"]
        deleted = http.delete(
            f"/v1/system/token/{other}", headers={"Authorization": f"Bearer {other}"}
        )
        assert deleted.json()["code"] == 0, deleted.text
        assert http.get("/v1/system/token_list").json()["code"] == 0
    log = (tmp_path / "server.log").read_text()
    assert "DELETE /v1/system/token/ragflow-***" in log
    assert other not in log
    assert other[len("ragflow-") :] not in log
    assert f"DELETE /v1/system/token/{second['id']}" in log  # an id is no secret
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {"ragprism.db", "master.key"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
