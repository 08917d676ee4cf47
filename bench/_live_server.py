"""`ragprism serve` in a child process for the end-to-end tracing benchmarks.

``LiveServer`` starts the real server (SQLite in a temporary data directory) on a loopback
port and exposes its process for CPU-time readings; ``Tenant`` registers an account,
creates an API key, a dataset with a few small parsed documents and a chat assistant on
the built-in models, and can switch the tenant's Langfuse configuration on and off.
Running this file directly does nothing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psutil

DOCUMENTS = {
    "tracing.txt": (
        "Langfuse receives one trace per chat request. The trace holds a retrieval span, "
        "an embedding of the query, a search over the dataset and a generation for the "
        "answer. Spans are exported over OTLP HTTP with gzip and basic authentication.\n"
    )
    * 6,
    "tenants.txt": (
        "Every tenant stores its own Langfuse keys. Spans are routed per tenant to its "
        "project; a hung or failing Langfuse for one tenant never delays another tenant "
        "or any request. Undeliverable batches wait in a durable on-disk spool.\n"
    )
    * 6,
    "ragflow.txt": (
        "RAGFlow constructs a Langfuse client per chat request and calls auth_check, a "
        "blocking GET of the projects endpoint, before answering. With a slow Langfuse "
        "host this adds its round trip to every answer; a hung host blocks the chat.\n"
    )
    * 6,
    "cooking.txt": (
        "To bake bread, mix flour, water, salt and yeast, knead the dough for ten "
        "minutes, let it rise for an hour, shape it and bake it in a hot oven.\n"
    )
    * 6,
}
QUESTIONS = [
    "How are spans exported to Langfuse?",
    "What happens when one tenant's Langfuse hangs?",
    "What does RAGFlow do per chat request?",
    "Where do undeliverable batches wait?",
    "What does a trace of a chat request contain?",
    "How long should bread dough rise?",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """The real server as a user runs it: ``ragprism serve --port N`` (one process)."""

    def __init__(self, **settings: str) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="ragprism-bench-")
        tmp = Path(self._tmp.name)
        port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("RAGPRISM_")}
        env.update(
            RAGPRISM_DATA_DIR=str(tmp / "data"),
            RAGPRISM_LANGFUSE_DEFAULT_HOST="",
            # The test servers listen on loopback, which the default host policy refuses.
            RAGPRISM_LANGFUSE_HOST_POLICY="any",
        )
        env.update({f"RAGPRISM_{key.upper()}": value for key, value in settings.items()})
        cli = Path(sys.executable).with_name("ragprism")
        self.log_path = tmp / "server.log"
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            [str(cli), "serve", "--port", str(port)],
            env=env, cwd=tmp, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.process = psutil.Process(self._proc.pid)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(self.url + "/v1/system/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"server did not start:\n{self.log_path.read_text()}")
            time.sleep(0.1)

    def cpu(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def threads(self) -> int:
        return int(self.process.num_threads())

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._log.close()
        self._tmp.cleanup()


def _data(response: httpx.Response) -> Any:
    body = response.json()
    if response.status_code != 200 or body.get("code") != 0:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return body["data"]


class Tenant:
    """A registered account (its own tenant) with a parsed dataset and a chat assistant."""

    def __init__(self, server: LiveServer, name: str) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=120)
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        account = {"email": email, "password": "bench-password", "nickname": name}
        _data(self.http.post("/v1/user/register", json=account))
        login = self.http.post("/v1/user/login", json=account)
        token = _data(login)["access_token"]
        key = _data(self.http.post("/v1/system/new_token", headers={"Authorization": token}))
        self.http.headers["Authorization"] = f"Bearer {key['token']}"
        self.chat_id = ""

    def build_chat(self) -> None:
        """A dataset of the small documents, parsed, and an assistant over it."""
        dataset = _data(self.http.post("/api/v1/datasets", json={"name": "bench"}))["id"]
        files = [("file", (name, text.encode(), "text/plain")) for name, text in DOCUMENTS.items()]
        docs = _data(self.http.post(f"/api/v1/datasets/{dataset}/documents", files=files))
        ids = [doc["id"] for doc in docs]
        _data(self.http.post(f"/api/v1/datasets/{dataset}/chunks", json={"document_ids": ids}))
        deadline = time.monotonic() + 60
        while True:
            listed = _data(self.http.get(f"/api/v1/datasets/{dataset}/documents"))["docs"]
            if all(doc["run"] == "DONE" for doc in listed):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"documents not parsed: {[d['run'] for d in listed]}")
            time.sleep(0.1)
        chat = {"name": "bench assistant", "dataset_ids": [dataset]}
        self.chat_id = _data(self.http.post("/api/v1/chats", json=chat))["id"]

    def set_langfuse(self, host: str, public_key: str, secret_key: str, *, enabled: bool) -> None:
        body = {
            "public_key": public_key, "secret_key": secret_key, "host": host,
            "enabled": enabled, "sample_rate": 1.0,
        }  # fmt: skip
        _data(self.http.put("/api/v1/langfuse/api-key", json=body))

    def delete_langfuse(self) -> None:
        _data(self.http.delete("/api/v1/langfuse/api-key"))

    def langfuse_status(self) -> dict[str, Any]:
        data: dict[str, Any] = _data(self.http.get("/api/v1/langfuse/api-key"))
        return data

    def ask(self, question: str) -> tuple[float, dict[str, Any]]:
        """One non-streamed completion (a new session); seconds taken and the answer."""
        started = time.perf_counter()
        response = self.http.post(
            f"/api/v1/chats/{self.chat_id}/completions",
            json={"question": question, "stream": False},
        )
        elapsed = time.perf_counter() - started
        answer: dict[str, Any] = _data(response)
        return elapsed, answer

    def close(self) -> None:
        self.http.close()


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


if __name__ == "__main__":
    print("bench/_live_server.py: a helper of the benchmarks, nothing to run")
