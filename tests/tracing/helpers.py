"""Helpers for the tracing tests: an in-memory destination source and project setup."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from typing import Any

from ragprism.tracing import Destination
from tests.support.langfuse_server import FakeLangfuse


class DictSource:
    """A ``DestinationSource`` the test edits; counts loads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.destinations: dict[str, Destination] = {}
        self.loads = 0

    def load(self) -> dict[str, Destination]:
        with self._lock:
            self.loads += 1
            return dict(self.destinations)

    def put(self, destination: Destination) -> Destination:
        with self._lock:
            self.destinations[destination.tenant_id] = destination
        return destination

    def update(self, tenant_id: str, **changes: Any) -> Destination:
        with self._lock:
            current = self.destinations[tenant_id]
            changes.setdefault("version", current.version + 1)
            new = self.destinations[tenant_id] = replace(current, **changes)
        return new

    def remove(self, tenant_id: str) -> None:
        with self._lock:
            self.destinations.pop(tenant_id, None)


def project(
    server: FakeLangfuse, source: DictSource, tenant_id: str | None = None, **options: Any
) -> Destination:
    """Register a fresh project on ``server`` and a destination for it in ``source``."""
    tenant_id = tenant_id or uuid.uuid4().hex
    public, secret = f"pk-lf-{uuid.uuid4()}", f"sk-lf-{uuid.uuid4()}"
    project_id = f"p-{uuid.uuid4().hex[:10]}"
    server.add_project(public, secret, project_id=project_id)
    return source.put(
        Destination(
            tenant_id=tenant_id,
            host=server.url,
            public_key=public,
            secret_key=secret,
            project_id=project_id,
            **options,
        )
    )


def wait_until(condition: Any, timeout: float = 5.0, message: str = "condition") -> None:
    """Poll ``condition()`` until it is true; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout}s")
        time.sleep(0.01)


def send_traces(engine: Any, tenant_id: str, n: int, children: int = 1) -> list[str]:
    """``n`` traces of ``1 + children`` spans each; returns the recorded trace ids."""
    ids: list[str] = []
    for i in range(n):
        with engine.tracer.trace("chat", tenant_id=tenant_id, input=f"q{i}") as trace:
            for c in range(children):
                with trace.observation(f"step-{c}"):
                    pass
        if trace.trace_id is not None:
            ids.append(trace.trace_id)
    return ids
