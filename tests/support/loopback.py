"""What the loopback test servers share: bind a free port, serve in a daemon thread, stop
promptly even with hung requests or idle keep-alive connections, and the HTTP plumbing of
their request handlers (connection tracking, no Nagle delay, quiet logs, TCP resets)."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its fake and stays quiet about vanished clients."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[LoopbackHandler], fake: Any) -> None:
        self.fake = fake  # the LoopbackServer subclass answering the requests
        super().__init__(address, handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn); skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client went away (timeout, reset, closed stream): not interesting
        super().handle_error(request, client_address)


class LoopbackHandler(BaseHTTPRequestHandler):
    """Every method goes to ``_handle``; connections are registered with the fake."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, a kept-alive connection waits
    # for the client's delayed ACK (~40 ms) before the body.
    disable_nagle_algorithm = True
    server: LoopbackHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.fake._register(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._unregister(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _handle(self) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _reset(self) -> None:
        """Abort the connection with a TCP RST instead of an HTTP response."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.rfile.close()
        self.connection.close()


class LoopbackServer:
    """Base of the fake servers. Subclasses give their request handler (``_handler``);
    each connection is registered in ``_connections`` (under ``_lock``) while it is open."""

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

    def _handler(self) -> type[LoopbackHandler]:
        raise NotImplementedError

    def _register(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections[connection] = threading.current_thread()

    def _unregister(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.pop(connection, None)

    def start(self) -> Self:
        """Bind a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{type(self).__name__} can only be started once")
        self._server = LoopbackHTTPServer(self._address, self._handler(), self)
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
