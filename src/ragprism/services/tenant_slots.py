"""Per-tenant bounds on outbound calls that hold a request thread (issue 13).

Validating Langfuse keys and calling model providers wait on hosts a tenant chose; a
hanging host would hold a server thread per request, and one tenant sending many requests
could hold them all. ``TenantSlots`` admits at most ``limit`` such calls per tenant at a
time and refuses the excess at once with code 103, so other tenants keep their threads.

``LimitedTransport`` applies the bound to every request of an httpx client (a provider's
chat, stream, embedding, …): a slot is taken when the request is sent and given back when
its response is closed, so a streamed answer holds its slot until the stream ends.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from ragprism.errors import OperatingError


class TenantSlots:
    """At most ``limit`` concurrent calls of one kind per tenant (0: unbounded)."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self._busy: defaultdict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def in_use(self, tenant_id: str) -> int:
        with self._lock:
            return self._busy.get(tenant_id, 0)

    def acquire(self, tenant_id: str) -> Callable[[], None]:
        """Take a slot or raise ``OperatingError``; returns the (idempotent) release."""
        with self._lock:
            if self.limit and self._busy[tenant_id] >= self.limit:
                raise OperatingError(
                    f"Too many concurrent {self.what} for this tenant (at most {self.limit}); "
                    "try again when the ones in progress have finished."
                )
            self._busy[tenant_id] += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                self._busy[tenant_id] -= 1
                if self._busy[tenant_id] <= 0:
                    del self._busy[tenant_id]

        return release

    @contextmanager
    def slot(self, tenant_id: str) -> Iterator[None]:
        release = self.acquire(tenant_id)
        try:
            yield
        finally:
            release()


class _ReleasingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._release()


class LimitedTransport(httpx.BaseTransport):
    """An httpx transport whose requests take one of ``tenant_id``'s slots each."""

    def __init__(self, inner: httpx.BaseTransport, slots: TenantSlots, tenant_id: str) -> None:
        self._inner = inner
        self._slots = slots
        self._tenant_id = tenant_id

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        release = self._slots.acquire(self._tenant_id)
        try:
            response = self._inner.handle_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _ReleasingStream(response.stream, release)
        return response

    def close(self) -> None:
        self._inner.close()
