"""The tracing engine: one per process, composing the pieces of ``ragprism.tracing``.

facade (Tracer/Trace/Observation: sampled per trace, spans recorded in memory)
  ─► the trace's Route ─► TenantQueue (per tenant, bounded) ─► Schedule
  ─► ExportPool (fixed threads) ─► Sender (OTLP/gzip, httpx) ─► Langfuse
                                 └► SpanSpool (SQLite) on failure, replayed later
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from ragprism import __version__
from ragprism.security.host_policy import HostPolicy
from ragprism.tracing.destinations import (
    CacheRefresher,
    Destination,
    DestinationCache,
    DestinationSource,
)
from ragprism.tracing.export import ExportPool
from ragprism.tracing.facade import Tracer, TraceRuntime
from ragprism.tracing.metrics import make_registry, render
from ragprism.tracing.otlp import TraceAttributes
from ragprism.tracing.queues import MemoryBudget, Schedule, TenantQueue
from ragprism.tracing.retry import RetryPolicy
from ragprism.tracing.router import Route, StampedTrace
from ragprism.tracing.sender import Sender
from ragprism.tracing.spool import SpanSpool
from ragprism.tracing.stats import ExportStatsRegistry
from ragprism.tracing.transport import Resolve

log = logging.getLogger(__name__)

MiB = 1 << 20


class TracingEngine:
    """Per-tenant tracing to each tenant's Langfuse project. Nothing runs before ``start()``."""

    def __init__(
        self,
        *,
        source: DestinationSource,
        stats: ExportStatsRegistry,
        spool_path: Path,
        flush_interval: float = 0.5,
        refresh_interval: float = 2.0,
        trace_prefix: str = "ragflow-",
        release: str = __version__,
        max_field_chars: int = 20_000,
        workers: int = 2,
        spool_bytes_per_tenant: int = 64 * MiB,
        queue_spans_per_tenant: int = 20_000,
        export_timeout: float = 5.0,
        policy: HostPolicy | None = None,
        batch_size: int = 512,
        retry: RetryPolicy | None = None,
        resolve: Resolve | None = None,
        batch_bytes: int = 4 * MiB,
        queue_bytes_per_tenant: int = 32 * MiB,
        memory_bytes: int = 256 * MiB,
    ) -> None:
        self._stats = stats
        self._spool_path = spool_path
        self._flush_interval = flush_interval
        self._refresh_interval = refresh_interval
        self._workers = workers
        self._spool_bytes = spool_bytes_per_tenant
        self._queue_capacity = queue_spans_per_tenant
        self._timeout = export_timeout
        self._policy = policy or HostPolicy()
        self._batch_size = batch_size
        self._batch_bytes = batch_bytes
        self._queue_bytes = queue_bytes_per_tenant
        self._memory = MemoryBudget(memory_bytes)
        self._retry = retry or RetryPolicy()
        self._resolve = resolve
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._queues: dict[str, TenantQueue] = {}
        self._schedule = Schedule()
        self._cache = DestinationCache(source, self._on_destinations)
        self._runtime = TraceRuntime(
            resource=Resource(
                {
                    "service.name": "ragprism",
                    "service.version": release,
                    "langfuse.release": release,
                }
            ),
            scope=InstrumentationScope("ragprism", release),
            cache=self._cache,
            route=self._route,
            prefix=trace_prefix,
            release=release,
            max_chars=max_field_chars,
            enqueue_score=self._enqueue_score,
        )
        self._tracer = Tracer(self._runtime)
        self._metrics = make_registry(stats, self._depth, self.memory)
        self._spool: SpanSpool | None = None
        self._pool: ExportPool | None = None
        self._sender: Sender | None = None
        self._refresher: CacheRefresher | None = None
        self._stopped = False
        self._forked = False
        engine = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(engine))

    @property
    def tracer(self) -> Tracer:
        return self._tracer

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        """Load destinations, start the refresher and the workers, replay the spool."""
        with self._lock:
            if self._forked:
                raise RuntimeError(
                    f"this tracing engine was started in process {self._pid} and cannot run "
                    f"in its fork {os.getpid()}: start the engine after forking"
                )
            if self._pool is not None or self._stopped:
                return
            self._spool = SpanSpool(
                self._spool_path,
                max_bytes_per_tenant=self._spool_bytes,
                lease=max(30.0, 4 * self._timeout),
            )
            self._sender = Sender(self._policy, self._timeout, self._resolve)
            self._pool = ExportPool(
                workers=self._workers,
                batch_size=self._batch_size,
                schedule=self._schedule,
                queues=self._queues.get,
                cache=self._cache,
                sender=self._sender,
                spool=self._spool,
                stats=self._stats,
                retry=self._retry,
                batch_bytes=self._batch_bytes,
                memory=self._memory,
                all_queues=lambda: list(self._queues.items()),
            )
            self._refresher = CacheRefresher(
                self._cache, self._refresh_interval, self._housekeeping
            )
        self._cache.refresh()
        self._pool.start()
        self._refresher.start()
        self._runtime.accepting = True
        self._housekeeping()

    def shutdown(self, deadline: float = 5.0) -> None:
        """Deliver what can be delivered within ``deadline`` seconds; spool the rest.

        Spans that end after this began are counted as dropped ("shutdown"); a failure
        with one tenant's remains is counted for that tenant and never stops the others'.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._runtime.accepting = False
        end = time.monotonic() + deadline
        pool, spool, sender = self._pool, self._spool, self._sender
        if pool is None or spool is None or sender is None or self._refresher is None:
            for queue in list(self._queues.values()):  # never started: nothing can leave
                spans, scores = queue.close("shutdown")
                queue.stats.drop("shutdown", len(spans) + len(scores))
            return
        self._refresher.stop()
        self.flush(max(0.0, (end - time.monotonic()) * 0.8))
        pool.stop(end)
        sender.close(end)  # requests still in flight are cancelled: retried from the spool
        for tenant_id in set(self._queues) | set(pool.states):
            try:
                pool.finish(tenant_id, self._queues.get(tenant_id))
            except Exception as exc:
                log.exception("cannot keep the trace batches of tenant %s at shutdown", tenant_id)
                stats = self._stats.for_tenant(tenant_id)
                stats.failed(f"shutdown: {type(exc).__name__}: {exc}"[:300], healthy=stats.healthy)
                remaining = self._queues.get(tenant_id)
                if remaining is not None:
                    spans, scores = remaining.close("shutdown")
                    stats.drop("shutdown", len(spans) + len(scores))
        spool.close()

    def invalidate(self, tenant_id: str) -> None:
        """This process changed ``tenant_id``'s configuration: reload it now."""
        if self._pool is not None and not self._stopped:
            self._cache.refresh()

    # -- internals the facade and router call ----------------------------------------
    def _queue_for(self, tenant_id: str) -> TenantQueue:
        queue = self._queues.get(tenant_id)
        if queue is not None and not queue.closed:
            return queue
        with self._lock:
            queue = self._queues.get(tenant_id)
            if queue is None or queue.closed:
                queue = self._queues[tenant_id] = TenantQueue(
                    tenant_id,
                    capacity=self._queue_capacity,
                    flush_interval=self._flush_interval,
                    batch_size=self._batch_size,
                    stats=self._stats.for_tenant(tenant_id),
                    schedule=self._schedule,
                    batch_bytes=self._batch_bytes,
                    max_bytes=self._queue_bytes,
                    memory=self._memory,
                )
            return queue

    def _route(self, destination: Destination, trace: TraceAttributes) -> Route:
        stamped = StampedTrace(trace.attrs, (destination.host, destination.project_id))
        return Route(self._queue_for(destination.tenant_id), stamped)

    def _enqueue_score(self, destination: Destination, payload: dict[str, Any]) -> bool:
        if not self._runtime.accepting:
            return False
        self._queue_for(destination.tenant_id).put_score(payload)
        return True

    def memory(self) -> dict[str, int]:
        """Bytes held in memory by all tenants (queued spans, by estimate, and encoded
        batches), and the budget (0: none)."""
        return {"bytes": self._memory.used, "budget": self._memory.limit}

    def _depth(self, tenant_id: str) -> int:
        queue = self._queues.get(tenant_id)
        return len(queue) if queue is not None else 0

    def _on_destinations(
        self, previous: Mapping[str, Destination], current: Mapping[str, Destination]
    ) -> None:
        gone = {t for t, d in previous.items() if d.enabled} | set(self._queues)
        for tenant_id in gone:
            destination = current.get(tenant_id)
            if destination is None:
                self._discard(tenant_id)
            elif not destination.enabled:  # keys kept: so is the spool, for re-enabling
                self._discard(tenant_id, spool=False)
        pool = self._pool
        if pool is None:
            return
        for tenant_id, destination in current.items():
            before = previous.get(tenant_id)
            queue = self._queues.get(tenant_id)
            changed = before is not None and before.version != destination.version
            if changed and destination.enabled and queue is not None:
                pool.config_changed(tenant_id, queue)

    def _discard(self, tenant_id: str, *, spool: bool = True) -> None:
        """Tracing stopped for ``tenant_id``: drop what it had in memory, and what it had
        spooled if ``spool`` (only when its configuration is gone from the database)."""
        with self._lock:
            queue = self._queues.pop(tenant_id, None)
        dropped = 0
        if queue is not None:
            spans, scores = queue.close("config removed")
            dropped = len(spans) + len(scores)
        if self._pool is not None:
            dropped += self._pool.forget(tenant_id, keep_spooled=not spool)
        if self._spool is not None and spool:
            dropped += self._spool.discard(tenant_id)
        if dropped:
            self._stats.for_tenant(tenant_id).drop("config removed", dropped)

    def _housekeeping(self) -> None:
        """Notice spooled batches (ours after a restart, or another process's), and take
        back the leases of processes that died while sending one."""
        pool, spool = self._pool, self._spool
        if pool is None or spool is None or not self._cache.loaded:
            return
        try:
            spool.recover()
            spool.compact()
        except sqlite3.Error:
            log.exception("cannot recover leases in or compact the trace spool")
        for tenant_id in spool.tenants():
            # Durable data goes only on a positive signal: the configuration is gone from
            # the last successful load. A failed refresh keeps the previous view; a
            # disabled tenant (or one whose secret cannot be decrypted now) keeps its spool.
            if self._cache.get(tenant_id) is None:
                self._discard(tenant_id)
                continue
            if self._cache.active(tenant_id) is None:
                continue
            state = pool.state(tenant_id)
            if not state.spooled:
                state.spooled = True
                pool.replan(tenant_id, state, self._queue_for(tenant_id))

    # -- for tests, benchmarks and the status API --------------------------------------
    def flush(self, timeout: float) -> bool:
        """Send everything queued now; True once nothing is left to deliver (in memory,
        or spooled for a destination that is not backing off) and nothing was dropped
        meanwhile."""
        dropped_before = self._dropped()
        pool = self._pool
        if pool is None:
            return not any(len(q) for q in self._queues.values())
        deadline = time.monotonic() + timeout
        pool.flushing += 1
        try:
            while True:
                for tenant_id, queue in list(self._queues.items()):
                    if len(queue):
                        pool.replan(tenant_id, pool.state(tenant_id), queue)
                busy = any(len(q) for q in self._queues.values())
                if not busy and pool.idle():
                    return self._dropped() == dropped_before
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
        finally:
            pool.flushing -= 1

    def _dropped(self) -> int:
        return sum(stats.dropped for _, stats in self._stats.items())

    def health(self, tenant_id: str) -> dict[str, Any]:
        """Exporter figures for the config status: counters, health, queue and spool."""
        data = self._stats.snapshot(tenant_id)
        data["pending"] = self._depth(tenant_id)
        queue = self._queues.get(tenant_id)
        data["pending_bytes"] = queue.bytes if queue is not None else 0
        batches = items = size = 0
        if self._spool is not None and not self._stopped:
            batches, items, size = self._spool.usage(tenant_id)
        data["spool"] = {"batches": batches, "items": items, "bytes": size}
        state = self._pool.states.get(tenant_id) if self._pool is not None else None
        retry_in = max(0.0, state.not_before - time.monotonic()) if state else 0.0
        data["retry_in_seconds"] = round(retry_in, 3)
        return data

    def metrics(self) -> tuple[bytes, str]:
        """Prometheus text exposition of the export counters, and its content type."""
        return render(self._metrics)

    def thread_names(self) -> list[str]:
        """Names of the threads this engine runs (for tests and benchmarks)."""
        return [t.name for t in threading.enumerate() if t.name.startswith("ragprism-trace-")]


def _after_fork(ref: weakref.ref[TracingEngine]) -> None:
    """In a child process: the engine's threads did not come along, and its spool
    connection must not be used here. Tracing is off in the child, loudly."""
    engine = ref()
    if engine is None or engine._stopped:
        return
    if engine._pool is None:  # created but not started: the child may start it
        engine._pid = os.getpid()
        return
    engine._forked = True
    engine._stopped = True
    engine._runtime.accepting = False
    log.error(
        "process %d was forked from %d after its tracing engine started: tracing is off "
        "in this process; start the engine after forking (e.g. in the app's lifespan)",
        os.getpid(),
        engine._pid,
    )
