"""The real server as a user runs it: ``ragprism serve`` in a subprocess on a loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server_env() -> dict[str, str]:
    """Settings of the live server beyond its data directory (a test module may override)."""
    # The test servers listen on loopback, which the default host policy refuses.
    return {"RAGPRISM_LANGFUSE_HOST_POLICY": "any"}


@pytest.fixture
def live_server(tmp_path: Path, server_env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """A migrated server on a fresh data directory: (base URL, data directory)."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAGPRISM_")}
    env.update(
        RAGPRISM_DATA_DIR=str(tmp_path / "data"), RAGPRISM_LANGFUSE_DEFAULT_HOST="", **server_env
    )
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
        # Generous: on a loaded machine importing and migrating alone can take a minute.
        deadline = time.monotonic() + 150
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


@pytest.fixture
def api_key(live_server: tuple[str, Path]) -> str:
    """A ``ragflow-…`` API key of a freshly registered user (a new tenant, built-in models)."""
    url, _ = live_server
    with httpx.Client(base_url=url) as http:
        account = {"email": "e2e@example.com", "password": "e2e-password", "nickname": "e2e"}
        assert http.post("/v1/user/register", json=account).json()["code"] == 0
        login = http.post("/v1/user/login", json=account)
        assert login.json()["code"] == 0, login.text
        created = http.post(
            "/v1/system/new_token", headers={"Authorization": login.headers["Authorization"]}
        ).json()
        assert created["code"] == 0, created
        key: str = created["data"]["token"]
        assert key.startswith("ragflow-")
        return key
