"""A tenant whose Langfuse hangs, trickles its answer or whose name resolves slowly never
holds up another tenant's export, and its request is cut at the deadline."""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
from types import TracebackType
from typing import Self

from ragprism.security.host_policy import HostPolicy
from tests.support.langfuse_server import FakeLangfuse
from tests.tracing.conftest import EngineFactory
from tests.tracing.helpers import DictSource, project, send_traces, wait_until

SLOW_NAME = "slow-langfuse.test"  # resolved only by the test's resolver hook


class TricklingServer:
    """Answers every request with a 200 status line and then one byte every 50 ms, for
    ever; counts the connections the client gave up on."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.connections = 0
        self.abandoned = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:  # the request head; the body is never needed
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                while not self._stop.wait(0.05):
                    conn.sendall(b"x")
            except OSError:
                with self._lock:
                    self.abandoned += 1

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._listener.close()


def test_hung_trickling_and_slowly_resolved_hosts_do_not_hold_up_a_healthy_tenant(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse
) -> None:
    release = threading.Event()
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        if host == SLOW_NAME:
            lookups.append(host)
            release.wait(30.0)  # a resolver that does not answer
            host = "127.0.0.1"
        return HostPolicy().resolve(host, port)

    engine = make_engine(export_timeout=0.5, workers=2, resolve=resolve)
    with FakeLangfuse() as hung_server, TricklingServer() as trickler:
        hung = project(hung_server, source)
        trickling = project(hung_server, source)
        source.update(trickling.tenant_id, host=trickler.url)
        slow = project(hung_server, source)
        slow = source.update(slow.tenant_id, host=f"http://{SLOW_NAME}:{hung_server.port}")
        healthy = project(fake_langfuse, source)
        engine.invalidate(healthy.tenant_id)
        hung_server.hang()
        for dest in (hung, trickling, slow):
            send_traces(engine, dest.tenant_id, 3)
        hung_server.wait_for_hanging(1)
        wait_until(lambda: trickler.connections >= 1 and bool(lookups), message="in flight")
        try:
            for round_ in range(1, 4):
                ids = send_traces(engine, healthy.tenant_id, 5)
                spans = fake_langfuse.wait_for_spans(10 * round_, project_id=healthy.project_id)
                assert set(ids) <= {s["trace_id"] for s in spans}

            # Each faulty request is cut at the deadline (the trickle, too, although bytes
            # keep coming), and counted as a failure to retry.
            def cut(tenant_id: str) -> bool:
                return "within 0.5 s" in (engine.health(tenant_id)["last_error"] or "")

            for dest in (hung, trickling, slow):
                wait_until(functools.partial(cut, dest.tenant_id), 10.0, f"cut: {dest.host}")
            wait_until(lambda: trickler.abandoned >= 1, message="the trickle cut")
            for dest in (hung, trickling, slow):
                health = engine.health(dest.tenant_id)
                assert health["exported"] == 0
                assert health["dropped"] == 0
            assert engine.health(healthy.tenant_id)["exported"] == 30
        finally:
            release.set()
            hung_server.clear_faults()
