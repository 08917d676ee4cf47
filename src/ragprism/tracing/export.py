"""A fixed pool of export workers serving every tenant's queue.

Each worker takes the next due tenant from the ``Schedule`` and does one unit of work for
it: one HTTP request (a batch being retried, else the oldest spooled batch, else a score,
else the next batch of spans), or, while the destination is backing off or refusing our
keys, moving its due spans to the spool. A tenant is worked on by at most one worker at a
time, so a hung host holds one worker for at most the request timeout, and the others
keep serving everyone else.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ragprism.tracing.destinations import Destination, DestinationCache
from ragprism.tracing.queues import Schedule, TenantQueue
from ragprism.tracing.retry import RetryPolicy
from ragprism.tracing.sender import Batch, Outcome, Result, Sender, encode_otlp, encode_score
from ragprism.tracing.spool import SpanSpool
from ragprism.tracing.stats import ExportStatsRegistry

log = logging.getLogger(__name__)


@dataclass
class DestinationState:
    """What the workers know about one tenant's destination."""

    in_flight: bool = False
    current: Batch | None = None  # the batch being sent right now
    pending: Batch | None = None  # a failed batch waiting for its next attempt
    ready: Batch | None = None  # the next batch, encoded while the previous one is in flight
    encoding: bool = False
    failures: int = 0
    not_before: float = 0.0  # monotonic time before which nothing is sent
    refused_version: int | None = None  # set while the destination refuses our keys
    spooled: bool = False  # the spool may hold batches of this tenant

    def blocked(self, now: float) -> bool:
        return now < self.not_before


class ExportPool:
    """``workers`` threads, whatever the number of tenants."""

    def __init__(
        self,
        *,
        workers: int,
        batch_size: int,
        schedule: Schedule,
        queues: Callable[[str], TenantQueue | None],
        cache: DestinationCache,
        sender: Sender,
        spool: SpanSpool,
        stats: ExportStatsRegistry,
        retry: RetryPolicy,
    ) -> None:
        self._batch_size = batch_size
        self._schedule = schedule
        self._queue = queues
        self._cache = cache
        self._sender = sender
        self._spool = spool
        self._stats = stats
        self._retry = retry
        self._lock = threading.Lock()
        self.states: dict[str, DestinationState] = {}
        self.flushing = 0  # > 0 while someone waits in flush(): partial batches are due
        self._stopping = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, name=f"ragprism-trace-export-{i}", daemon=True)
            for i in range(workers)
        ]

    def state(self, tenant_id: str) -> DestinationState:
        with self._lock:
            state = self.states.get(tenant_id)
            if state is None:
                state = self.states[tenant_id] = DestinationState()
            return state

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, deadline: float) -> None:
        """Stop taking work; wait for running requests until ``deadline`` (monotonic)."""
        self._stopping.set()
        self._schedule.close()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while not self._stopping.is_set():
            tenant_id = self._schedule.next(timeout=0.5)
            if tenant_id is None:
                continue
            try:
                self._work(tenant_id)
            except Exception:
                log.exception("trace export for tenant %s failed", tenant_id)

    def _work(self, tenant_id: str) -> None:
        destination = self._cache.active(tenant_id)
        queue = self._queue(tenant_id)
        if destination is None or queue is None:
            return
        state = self.state(tenant_id)
        with self._lock:
            if state.in_flight:
                look_ahead = not state.encoding and state.ready is None
                state.encoding = state.encoding or look_ahead
            else:
                look_ahead = False
                state.in_flight = True
        if look_ahead:
            self._encode_ahead(destination, queue, state)
            return  # the worker sending for this tenant re-plans when done
        try:
            self._step(destination, queue, state)
        finally:
            with self._lock:
                state.in_flight = False
                state.current = None
            self.replan(tenant_id, state, queue)

    def _encode_ahead(
        self, destination: Destination, queue: TenantQueue, state: DestinationState
    ) -> None:
        """While a batch is in flight, encode the next full one, so that sending it does
        not wait for the encoding (requests stay one at a time per destination)."""
        try:
            if len(queue.spans) >= self._batch_size and not queue.scores:
                batch = self._take(queue, destination)
                with self._lock:
                    state.ready = batch
        finally:
            with self._lock:
                state.encoding = False

    def replan(self, tenant_id: str, state: DestinationState, queue: TenantQueue) -> None:
        """Put the tenant back on the schedule for its next piece of work, if any."""
        now = time.monotonic()
        queued = queue.due_at(now=now, flushing=self.flushing > 0)
        backlog = state.pending is not None or state.ready is not None or state.spooled
        if state.blocked(now):
            times = [t for t in (queued, state.not_before if backlog else None) if t is not None]
        else:
            times = [now] if backlog else ([queued] if queued is not None else [])
        if times:
            self._schedule.plan(tenant_id, min(times))

    def config_changed(self, tenant_id: str, queue: TenantQueue) -> None:
        """New keys or host: a destination that refused the old ones is probed at once."""
        state = self.states.get(tenant_id)
        if state is None or state.refused_version is None:
            return
        with self._lock:
            state.refused_version, state.not_before, state.failures = None, 0.0, 0
        self.replan(tenant_id, state, queue)

    def _step(self, destination: Destination, queue: TenantQueue, state: DestinationState) -> None:
        now = time.monotonic()
        if state.refused_version is not None and state.refused_version != destination.version:
            # The tenant changed its configuration: try the new keys/host right away.
            state.refused_version, state.not_before, state.failures = None, 0.0, 0
        if state.blocked(now):
            with self._lock:
                ready, state.ready = state.ready, None
            self._spool_batch(destination.tenant_id, ready, state)
            due = queue.due_at(now=now, flushing=self.flushing > 0)
            if due is not None and due <= now:
                self._spool_batch(destination.tenant_id, self._take(queue, destination), state)
            return
        batch = state.pending or self._claim(destination.tenant_id, state)
        if batch is None:
            with self._lock:
                batch, state.ready = state.ready, None
        if batch is None:
            batch = self._take(queue, destination)
        if batch is None:
            return
        state.pending = None
        state.current = batch
        stats = self._stats.for_tenant(destination.tenant_id)
        if batch.attempts > 0 or batch.spool_id is not None:
            stats.add("retried", batch.count)
        if state.ready is None and len(queue.spans) >= self._batch_size:
            self._schedule.plan(destination.tenant_id, time.monotonic())  # encode ahead
        result = self._sender.send(destination, batch)
        self._settle(destination, batch, state, result)

    def _take(self, queue: TenantQueue, destination: Destination) -> Batch | None:
        score = queue.take_score()
        if score is not None:
            return encode_score(score, destination.version)
        spans = queue.take_spans(self._batch_size)
        return encode_otlp(spans, destination.version) if spans else None

    def _claim(self, tenant_id: str, state: DestinationState) -> Batch | None:
        if not state.spooled:
            return None
        try:
            batch = self._spool.claim(tenant_id)
        except sqlite3.Error:
            log.exception("cannot read the trace spool")
            state.spooled = False  # the periodic housekeeping looks again
            return None
        if batch is None:
            state.spooled = False
        return batch

    def _settle(
        self, destination: Destination, batch: Batch, state: DestinationState, result: Result
    ) -> None:
        tenant_id = destination.tenant_id
        stats = self._stats.for_tenant(tenant_id)
        now = time.monotonic()
        if result.outcome is Outcome.DELIVERED:
            stats.delivered(batch.count)
            if batch.spool_id is not None:
                self._forget_spooled(batch.spool_id)
            state.failures, state.not_before, state.refused_version = 0, 0.0, None
            return
        if self._cache.active(tenant_id) is None:  # removed while we were sending
            self._drop(tenant_id, batch, "config removed")
            return
        if result.outcome is Outcome.REJECTED:
            log.warning("Langfuse rejected a batch of tenant %s: %s", tenant_id, result.message)
            stats.failed(result.message, healthy=True)
            self._drop(tenant_id, batch, "rejected")
            return
        batch.attempts += 1
        if result.outcome is Outcome.REFUSED:
            stats.failed(result.message, healthy=False)
            state.refused_version = destination.version
            state.not_before = now + self._retry.unauthorized_probe
        else:
            stats.failed(result.message, healthy=stats.healthy)
            state.failures += 1
            state.not_before = now + self._retry.delay(state.failures, result.retry_after)
        if batch.spool_id is not None:
            self._release(batch.spool_id)
            state.spooled = True
        elif result.outcome is Outcome.RETRY and batch.attempts < self._retry.attempts:
            state.pending = batch
        else:
            self._spool_batch(tenant_id, batch, state)

    def _spool_batch(self, tenant_id: str, batch: Batch | None, state: DestinationState) -> None:
        if batch is None:
            return
        stats = self._stats.for_tenant(tenant_id)
        try:
            batch.spool_id, pushed_out = self._spool.put(tenant_id, batch)
        except sqlite3.Error:
            log.exception("cannot write the trace spool")
            stats.drop("spool unavailable", batch.count)
            return
        stats.add("spooled", batch.count)
        stats.drop("spool full", pushed_out)
        state.spooled = True

    def spool_pending(self, tenant_id: str) -> None:
        """At shutdown: move this tenant's in-memory batches to the spool."""
        state = self.state(tenant_id)
        for batch in (state.pending, state.ready, state.current):
            if batch is not None and batch.spool_id is None:
                self._spool_batch(tenant_id, batch, state)
            elif batch is not None and batch.spool_id is not None:
                self._release(batch.spool_id)
        state.pending = state.ready = None

    def _drop(self, tenant_id: str, batch: Batch, reason: str) -> None:
        if batch.spool_id is not None:
            self._forget_spooled(batch.spool_id)
        self._stats.for_tenant(tenant_id).drop(reason, batch.count)

    def _forget_spooled(self, spool_id: int) -> None:
        try:
            self._spool.delete(spool_id)
        except sqlite3.Error:
            log.exception("cannot delete a delivered batch from the trace spool")

    def _release(self, spool_id: int) -> None:
        try:
            self._spool.release(spool_id)
        except sqlite3.Error:
            log.exception("cannot release a batch in the trace spool")

    def idle(self) -> bool:
        """Nothing in flight, nothing waiting for a retry, no replay owed to a reachable
        destination."""
        now = time.monotonic()
        with self._lock:
            states = list(self.states.values())
        return not any(
            s.in_flight
            or s.encoding
            or s.pending is not None
            or s.ready is not None
            or (s.spooled and not s.blocked(now))
            for s in states
        )

    def encode_rest(self, queue: TenantQueue, destination: Destination) -> list[Batch]:
        """At shutdown: what is left in ``queue``, as batches for the spool."""
        batches: list[Batch] = []
        while (batch := self._take(queue, destination)) is not None:
            batches.append(batch)
        return batches

    def spool_batches(self, tenant_id: str, batches: list[Batch]) -> None:
        state = self.state(tenant_id)
        for batch in batches:
            self._spool_batch(tenant_id, batch, state)
