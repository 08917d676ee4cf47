"""The lifecycle the loopback test servers share: bind a free port, serve in a daemon
thread, and stop promptly even with hung requests or idle keep-alive connections."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Self


class LoopbackServer:
    """Base of the fake servers. Subclasses build their ``ThreadingHTTPServer`` in
    ``_make_server`` and register each connection in ``_connections`` (under ``_lock``)."""

    NAME = "loopback"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Prepare the server (it listens only after ``start()``)."""
        self._address = (host, port)
        self._lock = threading.Lock()
        # Set to let hung requests go; replaced by a fresh event when faults are cleared.
        self._release = threading.Event()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}

    def _make_server(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def start(self) -> Self:
        """Bind a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} can only be started once")
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{self.NAME}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hung requests are released and their connections dropped.

        Returns within about a second even with hung requests or idle keep-alive
        connections. Calling it again is a no-op.
        """
        server, thread = self._server, self._thread
        if server is None or thread is None or self._stopping.is_set():
            return
        self._stopping.set()
        with self._lock:
            self._release.set()
            connections = dict(self._connections)
        server.shutdown()
        server.server_close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 1.0
        for worker in [thread, *connections.values()]:
            worker.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self._address[0]

    @property
    def port(self) -> int:
        """The port the server listens on (only known once started)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])
