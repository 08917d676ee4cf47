"""Issue 13: `ragprism serve --workers 2` and a separate `ragprism worker` on one PostgreSQL.

The API processes do not parse (`--parse-workers 0`); the worker process, with no HTTP
server, claims the uploaded documents from the database queue. Each process has its own
tracing engine, so a Langfuse configuration made through one API process must reach the
other API process and the worker within seconds (their caches reload from the database).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import MASTER_KEY
from tests.e2e.conftest import _free_port
from tests.support.langfuse_server import FakeLangfuse

# Starting three Python processes takes a while on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(900)]

CLI = Path(sys.executable).with_name("ragprism")


def data(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200, response.text
    assert body["code"] == 0, body
    return body["data"]


def eventually(
    check: Callable[[], bool], what: str, timeout: float = 60.0, logs: Callable[[], str] = str
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what}\n{logs()}")
        time.sleep(0.1)


class Processes:
    """Subprocesses started with a shared environment, stopped with SIGTERM at the end."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        log_path = self.tmp_path / f"{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [str(CLI), *args],
                env={**self.env, **env},
                cwd=self.tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started.append((proc, log_path))
        return proc

    def logs(self) -> str:
        return "\n".join(f"== {path.name}\n{path.read_text()}" for _, path in self.started)

    def stop(self) -> None:
        for proc, _ in self.started:
            proc.send_signal(signal.SIGTERM)
        for proc, _ in self.started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def cluster(
    tmp_path: Path, postgres_url: str, langfuse_server: FakeLangfuse
) -> Iterator[tuple[str, Processes]]:
    """Two API processes on one port and one parse worker, on a scratch PostgreSQL."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAGPRISM_")}
    env.update(
        RAGPRISM_DATABASE_URL=postgres_url,
        RAGPRISM_MASTER_KEY=MASTER_KEY,  # shared by every process
        RAGPRISM_LANGFUSE_DEFAULT_HOST="",
        RAGPRISM_LANGFUSE_HOST_POLICY="any",  # the Langfuse test server is on loopback
        RAGPRISM_TRACE_CONFIG_REFRESH_SECONDS="0.5",
        RAGPRISM_TRACE_FLUSH_INTERVAL="0.2",
        RAGPRISM_PARSE_POLL_SECONDS="0.2",
    )
    processes = Processes(tmp_path, env)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        api = processes.start(
            "api",
            *("serve", "--no-migrate", "--port", str(port), "--workers", "2"),
            "--parse-workers=0",
            RAGPRISM_DATA_DIR=str(tmp_path / "api"),
        )
        processes.start("worker", "worker", RAGPRISM_DATA_DIR=str(tmp_path / "worker"))

        def healthy() -> bool:
            if any(proc.poll() is not None for proc, _ in processes.started):
                pytest.fail(f"a process exited:\n{processes.logs()}")
            try:
                return probe.get("/v1/system/healthz").status_code == 200
            except httpx.TransportError:
                return False

        with httpx.Client(base_url=url) as probe:
            eventually(healthy, "the API answers", timeout=300)
        eventually(lambda: len(psutil.Process(api.pid).children()) >= 2, "two server processes run")
        eventually(
            lambda: "parse worker started" in processes.logs(), "the worker runs", timeout=300
        )
        yield url, processes
    finally:
        processes.stop()
    logs = processes.logs()
    assert "Traceback" not in logs, logs
    assert "parse worker stopped" in logs


def test_api_processes_and_a_parse_worker_share_one_postgresql(
    cluster: tuple[str, Processes], fake_langfuse: FakeLangfuse
) -> None:
    url, processes = cluster
    account = {"email": "scale@example.com", "password": "scale-password", "nickname": "s"}

    def fresh() -> httpx.Client:
        """A new connection: the kernel hands it to either API process."""
        return httpx.Client(base_url=url, timeout=60, headers=headers)

    headers: dict[str, str] = {}
    with fresh() as http:
        data(http.post("/v1/user/register", json=account))
        token = data(http.post("/v1/user/login", json=account))["access_token"]
        key = data(http.post("/v1/system/new_token", headers={"Authorization": token}))
    headers["Authorization"] = f"Bearer {key['token']}"
    langfuse = {
        "public_key": fake_langfuse.public_key,
        "secret_key": fake_langfuse.secret_key,
        "host": fake_langfuse.url,
    }
    with fresh() as http:  # one API process stores it; the others read it from the database
        data(http.put("/api/v1/langfuse/api-key", json=langfuse))

    # An upload through the API is parsed by the worker process, which traces it.
    with fresh() as http:
        dataset = data(http.post("/api/v1/datasets", json={"name": "kb"}))["id"]
        files = [("file", ("bees.txt", b"Bees make honey in hives.", "text/plain"))]
        (doc,) = data(http.post(f"/api/v1/datasets/{dataset}/documents", files=files))
        data(http.post(f"/api/v1/datasets/{dataset}/chunks", json={"document_ids": [doc["id"]]}))

    def parsed() -> bool:
        with fresh() as http:
            listed = data(http.get(f"/api/v1/datasets/{dataset}/documents"))["docs"]
        assert listed[0]["run"] in ("RUNNING", "DONE"), listed
        return bool(listed[0]["run"] == "DONE")

    # The worker's first parse starts its parser process: slow on a busy machine.
    eventually(parsed, "the worker parses the document", timeout=300, logs=processes.logs)

    # The worker learns of the configuration from the database within a few refreshes; a
    # parse that started before then is not traced, so parse again until one is.
    last_request = time.monotonic()

    def ingest_traced() -> bool:
        nonlocal last_request
        if any(s["name"] == "ragflow-ingest" for s in fake_langfuse.spans()):
            return True
        if time.monotonic() - last_request > 3.0 and parsed():
            with fresh() as http:
                body = {"document_ids": [doc["id"]]}
                data(http.post(f"/api/v1/datasets/{dataset}/chunks", json=body))
            last_request = time.monotonic()
        return False

    eventually(
        ingest_traced,
        "the worker's trace of a parse reaches Langfuse",
        timeout=120,
        logs=processes.logs,
    )

    with fresh() as http:
        chat = data(http.post("/api/v1/chats", json={"name": "bees", "dataset_ids": [dataset]}))

    def ask(stream: bool) -> str | None:
        """One completion on a new connection; its X-Trace-Id (None: not traced)."""
        with fresh() as http:
            body = {"question": "What do bees make?", "stream": stream}
            response = http.post(f"/api/v1/chats/{chat['id']}/completions", json=body)
            assert response.status_code == 200, response.text
            assert "honey" in response.text
            return response.headers.get("X-Trace-Id")

    traced = [ask(stream=n % 2 == 1) for n in range(12)]
    assert None not in traced  # every process traces the tenant
    eventually(
        lambda: set(traced) <= set(fake_langfuse.trace_ids()), "every answer's trace arrives"
    )

    # A change through one process reaches every process within seconds.
    with fresh() as http:
        data(http.delete("/api/v1/langfuse/api-key"))
    eventually(lambda: all(ask(stream=False) is None for _ in range(8)), "tracing stops everywhere")
    with fresh() as http:
        data(http.put("/api/v1/langfuse/api-key", json=langfuse))
    eventually(lambda: None not in [ask(stream=True) for _ in range(8)], "tracing resumes")
