"""Where each tenant's traces go, and a cache of it that every process keeps fresh."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

log = logging.getLogger(__name__)

Capture = Literal["full", "metadata"]


@dataclass(frozen=True)
class Destination:
    """A tenant's Langfuse project and tracing options. ``repr`` hides the secret."""

    tenant_id: str
    host: str
    public_key: str
    secret_key: str = field(repr=False)
    project_id: str
    enabled: bool = True
    sample_rate: float = 1.0
    capture: Capture = "full"
    redact: tuple[str, ...] = ()
    environment: str | None = None
    version: int = 1

    @property
    def otlp_url(self) -> str:
        return f"{self.host}/api/public/otel/v1/traces"

    @property
    def scores_url(self) -> str:
        return f"{self.host}/api/public/scores"

    def trace_url(self, trace_id: str) -> str:
        return f"{self.host}/project/{self.project_id}/traces/{trace_id}"


class DestinationSource(Protocol):
    """Where the engine reads tenants' destinations from (the database, or a test's dict)."""

    def load(self) -> dict[str, Destination]:
        """Every configured destination by tenant id (disabled ones included)."""
        ...


Listener = Callable[[Mapping[str, Destination], Mapping[str, Destination]], None]


class DestinationCache:
    """Tenant → destination, reloaded by ``refresh()``; reads are a dict lookup.

    The listener is told ``(previous, current)`` after every successful reload, so the
    engine can drop the queues of tenants that disappeared or were disabled.
    """

    def __init__(self, source: DestinationSource, listener: Listener) -> None:
        self._source = source
        self._listener = listener
        self._current: dict[str, Destination] = {}
        self._lock = threading.Lock()
        self.loaded = False

    def get(self, tenant_id: str) -> Destination | None:
        """The tenant's destination if it is configured (enabled or not)."""
        return self._current.get(tenant_id)

    def active(self, tenant_id: str) -> Destination | None:
        """The tenant's destination if tracing is on for it."""
        destination = self._current.get(tenant_id)
        return destination if destination is not None and destination.enabled else None

    def all(self) -> Mapping[str, Destination]:
        return self._current

    def refresh(self) -> bool:
        """Reload from the source; False (and the old view kept) if that failed."""
        with self._lock:  # one reload at a time, so listeners see changes in order
            try:
                loaded = self._source.load()
            except Exception:
                log.exception("could not load trace destinations; keeping the previous ones")
                return False
            previous, self._current = self._current, loaded
            self.loaded = True
            self._listener(previous, loaded)
            return True


class CacheRefresher:
    """A thread that refreshes the cache every ``interval`` seconds or when poked."""

    def __init__(self, cache: DestinationCache, interval: float, on_tick: Callable[[], None]):
        self._cache = cache
        self._interval = interval
        self._on_tick = on_tick
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ragprism-trace-config", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._cache.refresh()
            try:
                self._on_tick()
            except Exception:
                log.exception("trace engine housekeeping failed")
