"""The export engine's HTTP requests, on one event loop, each under a hard total deadline.

httpx's ``timeout`` applies per operation (connect, each read, each write), so a host that
trickles its answer a byte at a time can hold a request for as long as it likes, and name
resolution happens outside any timeout. Here every request runs as a task on one asyncio
loop in one thread ("ragprism-trace-io") and is cancelled when its deadline passes,
whatever it is waiting for: resolving the name, connecting, sending or receiving. Hung
and slow hosts then cost a task and a socket each, never a worker thread, so any number
of them leave the workers to the healthy destinations.

Names are resolved in a small thread pool through the host policy (which checks every
address, see ``security/host_policy.py``) and cached: an answer is reused for ``FRESH``
seconds and, while a new resolution runs, served stale for up to ``STALE`` seconds, so a
slow resolver delays only the names that are not cached. One resolution per name at a time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import logging
import socket
import threading
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import httpcore
import httpx

from ragprism.security.host_policy import HostPolicy, _ssl_context

log = logging.getLogger(__name__)

Resolve = Callable[[str, int], list[str]]
"""Blocking name resolution returning checked addresses; raises ``HostRefused``."""

FRESH = 30.0
STALE = 600.0
MAX_BODY = 64 * 1024  # of an answer; only its first 200 characters are ever shown


@dataclass(frozen=True)
class Answer:
    """A response: status, headers, and at most ``MAX_BODY`` bytes of the body as sent
    (still content-encoded: decoding is the reader's business and may fail)."""

    status: int
    headers: httpx.Headers
    raw: bytes


Done = Callable[["Answer | BaseException"], None]


class _Resolver:
    def __init__(self, resolve: Resolve, threads: int) -> None:
        self._resolve = resolve
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="ragprism-trace-dns"
        )
        self._cache: dict[tuple[str, int], tuple[list[str], float]] = {}
        self._running: dict[tuple[str, int], asyncio.Future[list[str]]] = {}

    async def resolve(self, host: str, port: int) -> list[str]:
        key = (host, port)
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(host.strip("[]"))
            return self._resolve(host, port)  # a literal address: nothing to look up
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[1] < FRESH:
            return cached[0]
        running = self._running.get(key)
        if running is None:
            loop = asyncio.get_running_loop()
            running = asyncio.ensure_future(
                loop.run_in_executor(self._executor, self._resolve, host, port)
            )
            self._running[key] = running
            running.add_done_callback(lambda f: self._store(key, f))
        if cached is not None and now - cached[1] < STALE:
            return cached[0]  # served stale while the new answer is on its way
        # Shielded: a request cancelled at its deadline must not cancel the shared lookup.
        return await asyncio.shield(running)

    def _store(self, key: tuple[str, int], future: asyncio.Future[list[str]]) -> None:
        self._running.pop(key, None)
        if not future.cancelled() and future.exception() is None:
            self._cache[key] = (future.result(), time.monotonic())
        elif not future.cancelled():
            self._cache.pop(key, None)  # refused or unresolvable now: do not serve stale

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class _GuardedAsyncBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the resolver (the host policy) accepted."""

    def __init__(self, resolver: _Resolver) -> None:
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last_error: Exception | None = None
        # Headers and body are separate writes: without TCP_NODELAY the body can wait for
        # the server's delayed ACK.
        options = [*(socket_options or ()), (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        for address in await self._resolver.resolve(host, port):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for export")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class Transport:
    """POSTs on a private event loop; ``done`` is called exactly once per request, on the
    loop's thread, with the ``Answer`` or the exception that ended it (``TimeoutError``
    once ``deadline`` seconds have passed)."""

    def __init__(
        self,
        policy: HostPolicy,
        deadline: float,
        *,
        resolve: Resolve | None = None,
        max_connections: int = 512,
        per_host: int = 8,
        resolver_threads: int = 4,
    ) -> None:
        self.deadline = deadline
        self._per_host = per_host
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._resolver = _Resolver(resolve or policy.resolve, resolver_threads)
        self._max_connections = max_connections
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ragprism-trace-io", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        transport = httpx.AsyncHTTPTransport(verify=_ssl_context(), retries=0)
        # httpx has no network_backend argument; its pool is the documented httpcore one.
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            network_backend=_GuardedAsyncBackend(self._resolver),
            max_connections=self._max_connections,
            max_keepalive_connections=min(self._max_connections, 100),
            keepalive_expiry=5.0,
        )
        self._client = httpx.AsyncClient(
            transport=transport, timeout=self.deadline, follow_redirects=False
        )
        # Load anyio's asyncio backend now (a second or more on a busy machine), not
        # within the first request's deadline.
        self._loop.run_until_complete(anyio.sleep(0))
        self._ready.set()
        self._loop.run_forever()

    def post(self, url: str, headers: dict[str, str], body: bytes, done: Done) -> None:
        """Start a POST; returns at once."""

        def start() -> None:
            if self._closed:
                done(RuntimeError("the exporter is shutting down"))
                return
            task = self._loop.create_task(self._post(url, headers, body, done))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        try:
            self._loop.call_soon_threadsafe(start)
        except RuntimeError as exc:  # the loop is closed
            done(exc)

    async def _post(self, url: str, headers: dict[str, str], body: bytes, done: Done) -> None:
        outcome: Answer | BaseException
        # Many tenants may share one Langfuse (the cloud): a few requests at a time per
        # host. The deadline starts once the request has its slot: a slot is held for
        # at most the deadline, so the wait is bounded too, and it occupies no thread.
        origin = url.split("/", 3)[2]
        slots = self._hosts.get(origin)
        if slots is None:
            slots = self._hosts[origin] = asyncio.Semaphore(self._per_host)
        try:
            async with slots:
                outcome = await asyncio.wait_for(self._request(url, headers, body), self.deadline)
        except asyncio.CancelledError:
            outcome = RuntimeError("the exporter is shutting down")
        except Exception as exc:  # classified by the caller; never lost
            outcome = exc
        try:
            done(outcome)
        except Exception:
            log.exception("trace export callback failed")

    async def _request(self, url: str, headers: dict[str, str], body: bytes) -> Answer:
        assert self._client is not None
        request = self._client.build_request("POST", url, content=body, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            raw = bytearray()
            async for chunk in response.aiter_raw():
                raw += chunk
                if len(raw) >= MAX_BODY:
                    break
            return Answer(response.status_code, response.headers, bytes(raw[:MAX_BODY]))
        finally:
            await response.aclose()

    def in_flight(self) -> int:
        return len(self._tasks)

    def close(self, deadline: float) -> None:
        """Wait for running requests until ``deadline`` (monotonic), cancel the rest (their
        ``done`` is told), and stop the loop."""
        if self._closed:
            return
        while self._tasks and time.monotonic() < deadline:
            time.sleep(0.01)

        async def stop() -> None:
            self._closed = True
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._client is not None:
                with contextlib.suppress(Exception):
                    await self._client.aclose()

        if self._thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(stop(), self._loop)
            with contextlib.suppress(Exception):
                future.result(timeout=5.0)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5.0)
        self._closed = True
        self._resolver.close()
        if not self._thread.is_alive():
            self._loop.close()
