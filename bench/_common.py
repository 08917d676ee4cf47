"""Shared pieces of the tracing benchmarks (not a test; prints figures)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ragprism.tracing import Destination, TracingEngine  # noqa: E402


class FakeLangfuseProcess:
    """The Langfuse test server in a child process (see _fake_langfuse_process.py)."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_fake_langfuse_process.py"), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()
        self.url = self._read()

    def _read(self) -> str:
        out: IO[str] | None = self._proc.stdout
        assert out is not None
        return out.readline().strip()

    def _ask(self, command: str) -> str:
        assert self._proc.stdin is not None
        with self._lock:  # one command and its answer at a time, whichever thread asks
            self._proc.stdin.write(command + "\n")
            self._proc.stdin.flush()
            return self._read()

    def add_project(self, public: str, secret: str, project_id: str) -> None:
        self._ask(f"add {public} {secret} {project_id}")

    def count(self, project_id: str | None = None) -> int:
        """Spans received so far, all or those of one project."""
        return int(self._ask(f"count {project_id}" if project_id else "count"))

    def cpu(self) -> float:
        return float(self._ask("cpu"))

    def clear(self) -> None:
        self._ask("clear")

    # Faults (see tests/support/langfuse_server.py); ``endpoint`` is an ENDPOINTS name
    # ("otel", "projects", ...), None for every endpoint.
    def latency(self, seconds: float, endpoint: str | None = None) -> None:
        self._ask(f"latency {seconds} {endpoint or ''}")

    def hang(self, endpoint: str | None = None) -> None:
        self._ask(f"hang {endpoint or ''}")

    def status(self, code: int, endpoint: str | None = None) -> None:
        self._ask(f"status {code} {endpoint or ''}")

    def clear_faults(self) -> None:
        """Remove every fault and release hung requests."""
        self._ask("clear_faults")

    def hanging(self) -> int:
        """Requests currently held by a hang fault."""
        return int(self._ask("hanging"))

    def requests(self, endpoint: str | None = None) -> int:
        """Requests handled so far (all, or for one endpoint)."""
        return int(self._ask(f"requests {endpoint or ''}"))

    def span_ids(self) -> tuple[int, dict[str, int]]:
        """Spans received (duplicates included) and the distinct span ids of each trace."""
        data = json.loads(self._ask("span_ids"))
        return int(data["spans"]), {str(k): int(v) for k, v in data["traces"].items()}

    def wait_for(self, n: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (got := self.count()) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return got

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        self._proc.terminate()
        self._proc.wait(5)


def destination(
    server: FakeLangfuseProcess, tenant_id: str | None = None, redact: tuple[str, ...] = ()
) -> Destination:
    """A fresh project on ``server`` and its destination (with the redactors ``redact``)."""
    tenant_id = tenant_id or uuid.uuid4().hex
    public, secret, project = f"pk-{uuid.uuid4().hex}", f"sk-{uuid.uuid4().hex}", tenant_id[:12]
    server.add_project(public, secret, project)
    return Destination(
        tenant_id=tenant_id, host=server.url, public_key=public, secret_key=secret,
        project_id=project, redact=redact,
    )  # fmt: skip


class StaticSource:
    """A destination source that never changes."""

    def __init__(self, destinations: list[Destination]) -> None:
        self._destinations = {d.tenant_id: d for d in destinations}

    def load(self) -> dict[str, Destination]:
        return dict(self._destinations)


SYSTEM_PROMPT = "You are an intelligent assistant. Knowledge base:\n" + "chunk text " * 300
MESSAGES = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "q?"}]
ANSWER = "The answer, with a citation [ID:0]. " * 8


def record_completion_trace(
    engine: TracingEngine, dest: Destination, messages: list[dict[str, str]] = MESSAGES
) -> None:
    """What a ragprism completion records (the request path only; export is background)."""
    with engine.tracer.trace(
        "chat", tenant_id=dest.tenant_id, session_id=uuid.uuid4().hex, user_id="user-1",
        input="q?", tags=["bench assistant", "builtin-extractive"],
        metadata={"chat_id": "c" * 32, "dataset_ids": ["d" * 32]},
    ) as trace:  # fmt: skip
        with trace.observation("retrieval", kind="retriever", input="q?") as retrieval:
            with retrieval.observation(
                "embed-query", kind="embedding", model="builtin-hashing", input="q?"
            ) as embed:
                embed.update(usage={"input": 2})
            with retrieval.observation("search", input="q?") as search:
                search.update(output={"candidates": 4})
            retrieval.update(output={"total": 4, "chunks": ["c" * 32] * 4})
        with trace.observation(
            "chat", kind="generation", model="builtin-extractive", input=messages
        ) as generation:
            generation.update(output=ANSWER, usage={"input": 500, "output": 60, "total": 560})
        trace.update(output=ANSWER)
