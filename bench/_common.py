"""Shared pieces of the tracing benchmarks (not a test; prints figures)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ragprism.tracing import Destination  # noqa: E402


class FakeLangfuseProcess:
    """The Langfuse test server in a child process (see _fake_langfuse_process.py)."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "_fake_langfuse_process.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self._read()

    def _read(self) -> str:
        out: IO[str] | None = self._proc.stdout
        assert out is not None
        return out.readline().strip()

    def _ask(self, command: str) -> str:
        assert self._proc.stdin is not None
        self._proc.stdin.write(command + "\n")
        self._proc.stdin.flush()
        return self._read()

    def add_project(self, public: str, secret: str, project_id: str) -> None:
        self._ask(f"add {public} {secret} {project_id}")

    def count(self) -> int:
        return int(self._ask("count"))

    def cpu(self) -> float:
        return float(self._ask("cpu"))

    def clear(self) -> None:
        self._ask("clear")

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


def destination(server: FakeLangfuseProcess, tenant_id: str | None = None) -> Destination:
    """A fresh project on ``server`` and its destination."""
    tenant_id = tenant_id or uuid.uuid4().hex
    public, secret, project = f"pk-{uuid.uuid4().hex}", f"sk-{uuid.uuid4().hex}", tenant_id[:12]
    server.add_project(public, secret, project)
    return Destination(
        tenant_id=tenant_id, host=server.url, public_key=public, secret_key=secret,
        project_id=project,
    )  # fmt: skip


class StaticSource:
    """A destination source that never changes."""

    def __init__(self, destinations: list[Destination]) -> None:
        self._destinations = {d.tenant_id: d for d in destinations}

    def load(self) -> dict[str, Destination]:
        return dict(self._destinations)
