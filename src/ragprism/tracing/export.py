"""A fixed pool of export workers serving every tenant's queue.

Each worker takes the next due tenant from the ``Schedule`` and does one step for it:
settle the answer to its request in flight, or start the next request (a batch being
retried, else the oldest spooled batch, else a score, else the next batch of spans), or,
while the destination is backing off or refusing our keys, move its due spans to the
spool. Requests run on the ``Sender``'s event loop with a hard deadline, so a worker never
waits for the network: a hung or trickling host costs a socket, not a worker. A tenant
is worked on by one worker at a time and has at most one request in flight; while it
is in flight, a worker encodes the next full batch ahead.

Every batch taken from a queue ends exported, spooled, or dropped with a reason that
the status and ``/metrics`` show: an exception in any step is caught, the batch in hand
is spooled (or counted as dropped) and the error becomes the tenant's ``last_error``.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ragprism.tracing.destinations import Destination, DestinationCache
from ragprism.tracing.queues import Item, Schedule, TenantQueue
from ragprism.tracing.retry import RetryPolicy
from ragprism.tracing.sender import Batch, Outcome, Result, Sender, encode_otlp, encode_score
from ragprism.tracing.spool import SpanSpool
from ragprism.tracing.stats import ExportStatsRegistry

log = logging.getLogger(__name__)


def _project(item: Item) -> tuple[str, str] | None:
    """The (host, project id) a queued span was recorded for, if stamped."""
    return getattr(item[1], "project", None)


@dataclass
class DestinationState:
    """What the workers know about one tenant's destination."""

    busy: bool = False  # a worker is doing a step for this tenant
    held: Batch | None = None  # taken by that step and not yet sent, spooled or dropped
    sending: Batch | None = None  # the batch whose request is in flight
    answer: Result | None = None  # the result of ``sending``, once it came back
    pending: Batch | None = None  # a failed batch waiting for its next attempt
    ready: Batch | None = None  # the next batch, encoded while the previous one is in flight
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
        """Stop taking work; wait for running steps until ``deadline`` (monotonic)."""
        self._stopping.set()
        self._schedule.close()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while not self._stopping.is_set():
            tenant_id = self._schedule.next(timeout=0.5)
            if tenant_id is not None:
                self.work(tenant_id)

    # -- one step for one tenant ---------------------------------------------------------
    def work(self, tenant_id: str) -> None:
        """Do the tenant's next step unless another worker is doing one."""
        state = self.state(tenant_id)
        with self._lock:
            if state.busy:
                return  # that worker re-plans the tenant when it is done
            state.busy = True
        queue = self._queue(tenant_id)
        try:
            destination = self._cache.active(tenant_id)
            if destination is None or queue is None:
                return  # the engine discards what the tenant had
            if state.sending is not None:
                if state.answer is None:
                    self._encode_ahead(destination, queue, state)
                    return
                batch, result = state.sending, state.answer
                state.held, state.sending, state.answer = batch, None, None
                self._settle(destination, batch, state, result)
            self._step(destination, queue, state)
        except Exception as exc:
            self._rescue(tenant_id, state, exc)
        finally:
            with self._lock:
                state.busy = False
            if queue is not None:
                self.replan(tenant_id, state, queue)

    def _rescue(self, tenant_id: str, state: DestinationState, exc: Exception) -> None:
        """A step failed unexpectedly: keep the batch it held (spooled, or counted as
        dropped) and make the failure the tenant's last error."""
        log.error("trace export step for tenant %s failed", tenant_id, exc_info=exc)
        stats = self._stats.for_tenant(tenant_id)
        stats.failed(f"internal error: {type(exc).__name__}: {exc}"[:300], healthy=stats.healthy)
        batch, state.held = state.held, None
        if batch is None:
            return
        try:
            if batch.spool_id is not None:
                self._release(batch.spool_id)
                state.spooled = True
            else:
                self._spool_batch(tenant_id, batch, state)
        except Exception:
            log.exception("cannot keep the batch of tenant %s", tenant_id)
            stats.drop("internal error", batch.count)

    def _answered(
        self, tenant_id: str, state: DestinationState, batch: Batch, result: Result
    ) -> None:
        """Called on the sender's I/O thread: note the result, a worker settles it."""
        with self._lock:
            if state.sending is batch:
                state.answer = result
        self._schedule.plan(tenant_id, time.monotonic())

    def _encode_ahead(
        self, destination: Destination, queue: TenantQueue, state: DestinationState
    ) -> None:
        """While a batch is in flight, encode the next full one, so that sending it does
        not wait for the encoding (requests stay one at a time per destination)."""
        if state.ready is None and len(queue.spans) >= self._batch_size and not queue.scores:
            state.ready = self._take(queue, destination, state)
            state.held = None

    def replan(self, tenant_id: str, state: DestinationState, queue: TenantQueue) -> None:
        """Put the tenant back on the schedule for its next step, if any."""
        now = time.monotonic()
        if state.sending is not None:
            look_ahead = state.ready is None and len(queue.spans) >= self._batch_size
            if state.answer is not None or look_ahead:
                self._schedule.plan(tenant_id, now)
            return  # the answer plans the tenant when it comes
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

    def forget(self, tenant_id: str, *, keep_spooled: bool) -> int:
        """Tracing stopped for ``tenant_id``: let go of the batches its state holds, and
        return how many items of them are lost. A batch claimed from the spool is still in
        the spool: given back if ``keep_spooled``, else left to the caller's discard of
        the tenant's spool, which counts it (so it is never counted twice)."""
        with self._lock:
            state = self.states.pop(tenant_id, None)
        if state is None:
            return 0
        lost = 0
        for batch in (state.held, state.sending, state.pending, state.ready):
            if batch is None:
                continue
            if batch.spool_id is None:
                lost += batch.count
            elif keep_spooled:
                self._release(batch.spool_id)
        return lost

    def _step(self, destination: Destination, queue: TenantQueue, state: DestinationState) -> None:
        now = time.monotonic()
        if state.refused_version is not None and state.refused_version != destination.version:
            # The tenant changed its configuration: try the new keys/host right away.
            state.refused_version, state.not_before, state.failures = None, 0.0, 0
        if state.blocked(now):
            ready, state.ready = state.ready, None
            self._spool_batch(destination.tenant_id, ready, state)
            due = queue.due_at(now=now, flushing=self.flushing > 0)
            if due is not None and due <= now:
                batch = self._take(queue, destination, state)
                self._spool_batch(destination.tenant_id, batch, state)
            return
        batch = state.pending or self._claim(destination.tenant_id, state)
        if batch is None:
            batch, state.ready = state.ready, None
        if batch is None:
            batch = self._take(queue, destination, state)
        if batch is None:
            return
        state.held, state.pending = batch, None
        if batch.project is not None and batch.project != (
            destination.host,
            destination.project_id,
        ):  # recorded for the tenant's previous host or project: never sent elsewhere
            self._drop(destination.tenant_id, batch, "project changed", state)
            return
        stats = self._stats.for_tenant(destination.tenant_id)
        if batch.attempts > 0 or batch.spool_id is not None:
            stats.add("retried", batch.count)
        with self._lock:
            state.sending, state.held = batch, None
        answered = functools.partial(self._answered, destination.tenant_id, state, batch)
        try:
            self._sender.submit(destination, batch, answered)
        except Exception:
            with self._lock:
                state.sending, state.held = None, batch
            raise

    def _take(
        self, queue: TenantQueue, destination: Destination, state: DestinationState
    ) -> Batch | None:
        """The next score or batch of spans, encoded; spans that cannot be encoded are
        dropped (counted) and the rest of their batch goes on."""
        batch: Batch | None
        score = queue.take_score()
        if score is not None:
            batch = encode_score(score, destination.version)
        else:
            while True:
                spans = queue.take_spans(self._batch_size)
                if not spans:
                    return None
                batch = self._encode(spans, destination)
                if batch is not None:
                    break
        state.held = batch
        return batch

    def _encode(self, items: Sequence[Item], destination: Destination) -> Batch | None:
        """``items`` recorded for the destination's current project as one batch (the
        others are dropped, counted); None if none is left."""
        project = (destination.host, destination.project_id)
        spans = [item for item in items if _project(item) in (project, None)]
        if len(spans) < len(items):
            stats = self._stats.for_tenant(destination.tenant_id)
            stats.drop("project changed", len(items) - len(spans))
        if not spans:
            return None
        batch = self._encode_spans(spans, destination)
        if batch is not None:
            batch.project = project
        return batch

    def _encode_spans(self, spans: Sequence[Item], destination: Destination) -> Batch | None:
        try:
            return encode_otlp(spans, destination.version)
        except Exception as exc:
            first_error = exc
        good: list[Item] = []
        for item in spans:  # find the spans at fault, keep the others
            try:
                encode_otlp([item], destination.version)
            except Exception:  # noqa: S112 - counted below, with the first error
                continue
            good.append(item)
        stats = self._stats.for_tenant(destination.tenant_id)
        bad = len(spans) - len(good)
        log.warning(
            "cannot encode %d span(s) of tenant %s: %r", bad, destination.tenant_id, first_error
        )
        stats.failed(
            f"cannot encode {bad} span(s): {type(first_error).__name__}: {first_error}"[:300],
            healthy=stats.healthy,
        )
        stats.drop("unencodable", bad)
        if not good:
            return None
        try:
            return encode_otlp(good, destination.version)
        except Exception:  # each alone encodes but not together: keep nothing half-done
            stats.drop("unencodable", len(good))
            return None

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
            state.held = None
            stats.delivered(batch.count)
            if batch.spool_id is not None:
                self._forget_spooled(batch.spool_id)
            state.failures, state.not_before, state.refused_version = 0, 0.0, None
            return
        if self._cache.active(tenant_id) is None:  # removed while we were sending
            self._drop(tenant_id, batch, "config removed", state)
            return
        if result.outcome is Outcome.REJECTED:
            log.warning("Langfuse rejected a batch of tenant %s: %s", tenant_id, result.message)
            stats.failed(result.message, healthy=True)
            self._drop(tenant_id, batch, "rejected", state)
            return
        batch.attempts += 1
        batch.first_failed = batch.first_failed or time.time()
        if result.outcome is Outcome.RETRY and self._retry.expired(
            batch.attempts, batch.first_failed, time.time()
        ):
            age = time.time() - batch.first_failed
            stats.failed(
                f"gave a batch up after {batch.attempts} attempts in {age:.0f} s: {result.message}"[
                    :300
                ],
                healthy=stats.healthy,
            )
            self._drop(tenant_id, batch, "expired", state)
            return
        if result.outcome is Outcome.REFUSED:
            stats.failed(result.message, healthy=False)
            state.refused_version = destination.version
            state.not_before = now + self._retry.unauthorized_probe
        else:
            stats.failed(result.message, healthy=stats.healthy)
            state.failures += 1
            state.not_before = now + self._retry.delay(state.failures, result.retry_after)
        if batch.spool_id is not None:
            self._release(batch.spool_id, batch)
            state.spooled = True
            state.held = None
        elif result.outcome is Outcome.RETRY and batch.attempts < self._retry.attempts:
            state.pending, state.held = batch, None
        else:
            self._spool_batch(tenant_id, batch, state)

    def _spool_batch(self, tenant_id: str, batch: Batch | None, state: DestinationState) -> None:
        """Write ``batch`` to the spool, or count it as dropped if that fails."""
        if batch is None:
            return
        stats = self._stats.for_tenant(tenant_id)
        try:
            batch.spool_id, pushed_out = self._spool.put(tenant_id, batch)
        except Exception as exc:  # sqlite3.Error, a closed spool, a full disk, a bug
            log.error("cannot write the trace spool: %r", exc)
            stats.failed(f"cannot write the spool: {exc}"[:300], healthy=stats.healthy)
            stats.drop("spool unavailable", batch.count)
        else:
            stats.add("spooled", batch.count)
            stats.drop("spool full", pushed_out)
            state.spooled = True
        if state.held is batch:
            state.held = None

    def _drop(self, tenant_id: str, batch: Batch, reason: str, state: DestinationState) -> None:
        if batch.spool_id is not None:
            self._forget_spooled(batch.spool_id)
        self._stats.for_tenant(tenant_id).drop(reason, batch.count)
        if state.held is batch:
            state.held = None

    def _forget_spooled(self, spool_id: int) -> None:
        try:
            self._spool.delete(spool_id)
        except sqlite3.Error:
            log.exception("cannot delete a delivered batch from the trace spool")

    def _release(self, spool_id: int, batch: Batch | None = None) -> None:
        try:
            self._spool.release(spool_id, batch)
        except sqlite3.Error:
            log.exception("cannot release a batch in the trace spool")

    def idle(self) -> bool:
        """Nothing in flight, nothing waiting for a retry, no replay owed to a reachable
        destination."""
        now = time.monotonic()
        with self._lock:
            states = list(self.states.values())
        return not any(
            s.busy
            or s.sending is not None
            or s.pending is not None
            or s.ready is not None
            or (s.spooled and not s.blocked(now))
            for s in states
        )

    # -- shutdown --------------------------------------------------------------------
    def finish(self, tenant_id: str, queue: TenantQueue | None) -> None:
        """At shutdown, after the workers and the sender stopped: settle the tenant's last
        answer, and move what it still holds in memory to the spool."""
        state = self.state(tenant_id)
        destination = self._cache.active(tenant_id)
        stats = self._stats.for_tenant(tenant_id)
        if state.sending is not None and state.answer is not None and destination is not None:
            batch, result = state.sending, state.answer
            state.held, state.sending, state.answer = batch, None, None
            self._settle(destination, batch, state, result)
        held = [state.held, state.sending, state.pending, state.ready]
        state.held = state.sending = state.answer = state.pending = state.ready = None
        for kept in held:
            if kept is None:
                continue
            if kept.spool_id is not None:
                self._release(kept.spool_id)
            elif destination is not None:
                self._spool_batch(tenant_id, kept, state)
            else:
                stats.drop("config removed", kept.count)
        if queue is None:
            return
        spans, scores = queue.close("shutdown")
        if destination is None:
            stats.drop("config removed", len(spans) + len(scores))
            return
        parts: list[tuple[int, Callable[[], Batch | None]]] = [
            (1, functools.partial(encode_score, score, destination.version)) for score in scores
        ]
        for start in range(0, len(spans), self._batch_size):
            chunk = spans[start : start + self._batch_size]
            parts.append((len(chunk), functools.partial(self._encode, chunk, destination)))
        for count, encode in parts:
            try:
                self._spool_batch(tenant_id, encode(), state)
            except Exception as exc:  # one bad batch must not cost the others
                log.exception("cannot spool a batch of tenant %s at shutdown", tenant_id)
                stats.failed(f"shutdown: {type(exc).__name__}: {exc}"[:300], healthy=stats.healthy)
                stats.drop("shutdown", count)
