"""A fixed pool of export workers serving every tenant's queue.

Each worker takes the next due tenant from the ``Schedule`` and does one step for it:
settle the answer to its request in flight, or start the next request (a batch being
retried, else the oldest spooled batch, else a score, else the next batch of spans), or,
while the destination is backing off or refusing our keys, move its due spans to the
spool. Requests run on the ``Sender``'s event loop with a hard deadline, so a worker never
waits for the network: a hung or trickling host costs a socket, not a worker. A tenant
is worked on by one worker at a time and has at most one request in flight; while it
is in flight, a worker encodes the next full batch ahead.

A batch holds at most ``batch_size`` spans and ``batch_bytes`` of encoded body (cut by the
spans' estimated sizes, and cut again in halves should the encoded body still be larger).
A batch Langfuse answers 413 is sent again in halves; a single span it refuses is
dropped ("too large"). Encoded batches held in memory count against the engine's
``MemoryBudget`` with the queued spans; when a tenant's queue is over its share, its
worker moves its batches to the spool ("spilling").

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
from dataclasses import dataclass, field

from ragprism.tracing.destinations import Destination, DestinationCache
from ragprism.tracing.fields import finish_masking
from ragprism.tracing.queues import Item, MemoryBudget, Schedule, TenantQueue
from ragprism.tracing.retry import RetryPolicy
from ragprism.tracing.sender import (
    Batch,
    Outcome,
    Result,
    Sender,
    encode_otlp,
    encode_score,
    split_batch,
)
from ragprism.tracing.spool import SpanSpool
from ragprism.tracing.stats import ExportStatsRegistry

log = logging.getLogger(__name__)

SPILL_POLL = 0.1  # seconds between looks at the memory budget while replays wait for it


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
    # failed batches waiting for their next attempt, the halves of one Langfuse found too
    # large, the rest of a batch cut again after encoding: sent before anything else
    pending: list[Batch] = field(default_factory=list)
    ready: Batch | None = None  # the next batch, encoded while the previous one is in flight
    failures: int = 0
    not_before: float = 0.0  # monotonic time before which nothing is sent
    refused_version: int | None = None  # set while the destination refuses our keys
    spooled: bool = False  # the spool may hold batches of this tenant
    deferred: bool = False  # a replay from the spool waits for memory (see _claim)

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
        batch_bytes: int = 0,
        memory: MemoryBudget | None = None,
        all_queues: Callable[[], list[tuple[str, TenantQueue]]] | None = None,
    ) -> None:
        self._batch_size = batch_size
        self._batch_bytes = batch_bytes
        self._memory = memory or MemoryBudget(0)
        self._all_queues = all_queues or list
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
                    if queue.over_budget():
                        self._spill(destination, queue, state)
                    else:
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
                self._free(batch)
                self._release(batch.spool_id)
                state.spooled = True
            else:
                self._spool_batch(tenant_id, batch, state)
        except Exception:
            log.exception("cannot keep the batch of tenant %s", tenant_id)
            self._free(batch)
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
        if state.ready is None and queue.full() and not queue.scores:
            state.ready = self._take(queue, destination, state)
            state.held = None

    def replan(self, tenant_id: str, state: DestinationState, queue: TenantQueue) -> None:
        """Put the tenant back on the schedule for its next step, if any."""
        now = time.monotonic()
        if queue.over_budget():  # spill to the spool now, a batch a step
            self._schedule.plan(tenant_id, now)
            return
        if state.sending is not None:
            look_ahead = state.ready is None and queue.full()
            if state.answer is not None or look_ahead:
                self._schedule.plan(tenant_id, now)
            return  # the answer plans the tenant when it comes
        queued = queue.due_at(now=now, flushing=self.flushing > 0)
        backlog = bool(state.pending) or state.ready is not None or state.spooled
        wake = now
        if not state.pending and state.ready is None and state.deferred:
            wake = now + SPILL_POLL  # only spooled batches, which wait for memory
        if state.blocked(now):
            times = [t for t in (queued, state.not_before if backlog else None) if t is not None]
        else:
            times = [wake] if backlog else ([queued] if queued is not None else [])
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
        for batch in (state.held, state.sending, *state.pending, state.ready):
            if batch is None:
                continue
            self._free(batch)
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
        if queue.over_budget():
            self._spill(destination, queue, state)
            return
        if state.blocked(now):
            ready, state.ready = state.ready, None
            self._spool_batch(destination.tenant_id, ready, state)
            due = queue.due_at(now=now, flushing=self.flushing > 0)
            if due is not None and due <= now:
                batch = self._take(queue, destination, state)
                self._spool_batch(destination.tenant_id, batch, state)
            return
        batch = state.pending.pop(0) if state.pending else None
        if batch is None:
            batch = self._claim(destination.tenant_id, state)
        if batch is None:
            batch, state.ready = state.ready, None
        if batch is None:
            batch = self._take(queue, destination, state)
        if batch is None:
            return
        state.held = batch
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
        """The next score or batch of spans, encoded (and held); spans that cannot be
        encoded are dropped (counted) and the rest of their batch goes on. Should the
        batch have been cut again after encoding, the rest waits in ``state.pending``."""
        batches: list[Batch]
        score = queue.take_score()
        if score is not None:
            batches = [encode_score(score, destination.version)]
        else:
            while True:
                spans = queue.take_spans(self._batch_size, self._batch_bytes)
                if not spans:
                    return None
                batches = self._encode(spans, destination)
                if batches:
                    break
        for batch in batches:
            self._hold(batch)
        state.held = batches[0]
        state.pending.extend(batches[1:])
        return batches[0]

    def _spill(self, destination: Destination, queue: TenantQueue, state: DestinationState) -> None:
        """The tenant is over its share of memory: move the batches it holds (but the one
        in flight) and one batch of its queue to the spool."""
        tenant_id = destination.tenant_id
        ready, state.ready = state.ready, None
        self._spool_batch(tenant_id, ready, state)
        while state.pending:
            self._spool_kept(tenant_id, state.pending.pop(0), state)
        batch = self._take(queue, destination, state)
        self._spool_batch(tenant_id, batch, state)
        while state.pending:
            self._spool_kept(tenant_id, state.pending.pop(0), state)
        if not queue.spans and self._memory.spilling():
            # Still over the budget: the other tenants holding spans spill too, now
            # rather than when their batches are due.
            now = time.monotonic()
            for other_id, other in self._all_queues():
                if other is not queue and other.spans:
                    self._schedule.plan(other_id, now)

    def _spool_kept(self, tenant_id: str, batch: Batch, state: DestinationState) -> None:
        """Back to the spool: a batch that came from it is released, another one written."""
        state.held = batch
        if batch.spool_id is None:
            self._spool_batch(tenant_id, batch, state)
            return
        self._free(batch)
        self._release(batch.spool_id, batch)
        state.spooled = True
        state.held = None

    def _encode(self, items: Sequence[Item], destination: Destination) -> list[Batch]:
        """``items`` recorded for the destination's current project as batches within the
        byte cap (the others are dropped, counted); none if none is left."""
        project = (destination.host, destination.project_id)
        spans = [item for item in items if _project(item) in (project, None)]
        if len(spans) < len(items):
            stats = self._stats.for_tenant(destination.tenant_id)
            stats.drop("project changed", len(items) - len(spans))
        if not spans:
            return []
        spans = self._finish_masking(spans, destination)
        return self._encode_capped(spans, destination, project) if spans else []

    def _finish_masking(self, items: Sequence[Item], destination: Destination) -> list[Item]:
        """``items`` with the tenant's redactors run on their inputs and outputs (left to
        this worker by the request thread); a span whose masking fails is dropped, counted."""
        done: list[Item] = []
        for span, trace in items:
            try:
                done.append((finish_masking(span), trace))
            except Exception as exc:  # mask_value never raises on text: a bug, counted
                log.exception("cannot mask a span of tenant %s", destination.tenant_id)
                stats = self._stats.for_tenant(destination.tenant_id)
                stats.failed(f"cannot mask a span: {type(exc).__name__}", healthy=stats.healthy)
                stats.drop("unencodable")
        return done

    def _encode_capped(
        self, spans: Sequence[Item], destination: Destination, project: tuple[str, str]
    ) -> list[Batch]:
        batch, encoded = self._encode_spans(spans, destination)
        if batch is None:
            return []
        if self._batch_bytes and batch.count > 1 and batch.size > self._batch_bytes:
            half = len(encoded) // 2  # the estimate was short: cut it again
            first = self._encode_capped(encoded[:half], destination, project)
            return first + self._encode_capped(encoded[half:], destination, project)
        batch.project = project
        return [batch]

    def _encode_spans(
        self, spans: Sequence[Item], destination: Destination
    ) -> tuple[Batch | None, Sequence[Item]]:
        """One batch of ``spans`` and the spans it holds (those that can be encoded)."""
        try:
            return encode_otlp(spans, destination.version), spans
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
            return None, good
        try:
            return encode_otlp(good, destination.version), good
        except Exception:  # each alone encodes but not together: keep nothing half-done
            stats.drop("unencodable", len(good))
            return None, good

    def _claim(self, tenant_id: str, state: DestinationState) -> Batch | None:
        if not state.spooled:
            return None
        if self._memory.spilling():
            state.deferred = True  # replays wait while memory is short: they would add to it
            return None
        try:
            batch = self._spool.claim(tenant_id)
        except sqlite3.Error:
            log.exception("cannot read the trace spool")
            state.spooled = False  # the periodic housekeeping looks again
            return None
        if batch is None:
            state.spooled = False
            return None
        size = len(batch.payload)
        # Not past 3/4 of the budget (a batch bigger than that alone: with nothing else held)
        if not self._memory.reserve(size, max(self._memory.spill_at, size)):
            state.deferred = True  # others took the memory meanwhile: replay it later
            self._release(batch.spool_id or 0)
            return None
        state.deferred = False
        batch.charged = size
        return batch

    def _settle(
        self, destination: Destination, batch: Batch, state: DestinationState, result: Result
    ) -> None:
        tenant_id = destination.tenant_id
        stats = self._stats.for_tenant(tenant_id)
        now = time.monotonic()
        if result.outcome is Outcome.DELIVERED:
            state.held = None
            self._free(batch)
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
        if result.outcome is Outcome.TOO_LARGE:
            self._halve(tenant_id, batch, state, result)
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
            self._free(batch)
            self._release(batch.spool_id, batch)
            state.spooled = True
            state.held = None
        elif result.outcome is Outcome.RETRY and batch.attempts < self._retry.attempts:
            state.pending.insert(0, batch)
            state.held = None
        else:
            self._spool_batch(tenant_id, batch, state)

    def _halve(self, tenant_id: str, batch: Batch, state: DestinationState, result: Result) -> None:
        """Langfuse found ``batch`` too large (413): send it again in halves, first in
        line; a single span (or a score) it refuses is dropped ("too large")."""
        stats = self._stats.for_tenant(tenant_id)
        state.failures, state.not_before = 0, 0.0  # it answered: no backoff
        halves = split_batch(batch)
        if halves is None:
            what = "a score" if batch.kind == "score" else f"{batch.count} span(s)"
            stats.failed(
                f"{result.message}: dropped {what} of {len(batch.payload)} bytes"[:300],
                healthy=stats.healthy,
            )
            self._drop(tenant_id, batch, "too large", state)
            return
        for half in halves:
            half.attempts = batch.attempts + 1
            half.first_failed = batch.first_failed or time.time()
        stats.failed(
            f"{result.message}: sending {batch.count} spans again in two requests"[:300],
            healthy=stats.healthy,
        )
        self._free(batch)
        state.held = None
        if batch.spool_id is None:
            for half in halves:
                self._hold(half)
            state.pending[0:0] = halves
            return
        try:
            pushed_out = self._spool.split(batch.spool_id, *halves)
        except sqlite3.Error:
            log.exception("cannot split a batch in the trace spool")
            self._release(batch.spool_id, batch)
        else:
            stats.drop("spool full", pushed_out)
        state.spooled = True

    def _spool_batch(self, tenant_id: str, batch: Batch | None, state: DestinationState) -> None:
        """Write ``batch`` to the spool, or count it as dropped if that fails."""
        if batch is None:
            return
        stats = self._stats.for_tenant(tenant_id)
        self._free(batch)
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
        self._free(batch)
        if batch.spool_id is not None:
            self._forget_spooled(batch.spool_id)
        self._stats.for_tenant(tenant_id).drop(reason, batch.count)
        if state.held is batch:
            state.held = None

    def _hold(self, batch: Batch) -> None:
        """``batch`` is now held in memory: it counts against the memory budget."""
        if not batch.charged:
            batch.charged = len(batch.payload)
            self._memory.charge(batch.charged)

    def _free(self, batch: Batch) -> None:
        """``batch`` left memory (delivered, spooled, dropped); idempotent."""
        charged, batch.charged = batch.charged, 0
        self._memory.release(charged)

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
            or bool(s.pending)
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
        held = [state.held, state.sending, *state.pending, state.ready]
        state.held = state.sending = state.answer = state.ready = None
        state.pending = []
        for kept in held:
            if kept is None:
                continue
            if kept.spool_id is not None:
                self._free(kept)
                self._release(kept.spool_id)
            elif destination is not None:
                self._spool_batch(tenant_id, kept, state)
            else:
                self._free(kept)
                stats.drop("config removed", kept.count)
        if queue is None:
            return
        spans, scores = queue.close("shutdown")
        if destination is None:
            stats.drop("config removed", len(spans) + len(scores))
            return
        version = destination.version
        parts: list[tuple[int, Callable[[], list[Batch]]]] = [
            (1, functools.partial(lambda s: [encode_score(s, version)], score)) for score in scores
        ]
        for start in range(0, len(spans), self._batch_size):
            chunk = spans[start : start + self._batch_size]
            parts.append((len(chunk), functools.partial(self._encode, chunk, destination)))
        for count, encode in parts:
            try:
                batches = encode()
            except Exception as exc:  # one bad batch must not cost the others
                self._lost_at_shutdown(tenant_id, exc, count)
                continue
            for batch in batches:
                try:
                    self._spool_batch(tenant_id, batch, state)
                except Exception as exc:  # one bad batch must not cost the others
                    self._lost_at_shutdown(tenant_id, exc, batch.count)

    def _lost_at_shutdown(self, tenant_id: str, exc: Exception, count: int) -> None:
        log.error("cannot spool a batch of tenant %s at shutdown", tenant_id, exc_info=exc)
        stats = self._stats.for_tenant(tenant_id)
        stats.failed(f"shutdown: {type(exc).__name__}: {exc}"[:300], healthy=stats.healthy)
        stats.drop("shutdown", count)
