"""`ragprism serve` as a user runs it: a real process on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.langfuse_server import FakeLangfuse


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAGPRISM_")}
    env.update(RAGPRISM_DATA_DIR=str(tmp_path / "data"), RAGPRISM_LANGFUSE_DEFAULT_HOST="")
    cli = Path(sys.executable).with_name("ragprism")
    log_path = tmp_path / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/v1/system/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url, tmp_path / "data"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        finally:
            log.close()
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in log_path.read_text()


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
