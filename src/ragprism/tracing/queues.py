"""Bounded per-tenant queues of ended spans and scores, and the schedule of due ones.

A queue is *due* when it holds a full batch (``batch_size`` spans, or ``batch_bytes`` of
them) or its oldest item has waited ``flush_interval``; ``Schedule`` keeps a heap of due
times so that a fixed pool of workers can wait for the next due tenant without scanning
every queue.

Memory is bounded in bytes, per tenant and in total (``MemoryBudget``): each span's size
is estimated once, when it is queued (``span_size``: a walk over its attributes, no
encoding), and a put is then O(1) bookkeeping. Past three quarters of either budget the
tenant is planned at once and a worker moves its batches to the spool on disk
("spilling"); only a put that would pass a budget itself drops spans ("memory budget").
Queued scores (feedback, whose comment may be as long as the field cap) count against
both budgets too; they are due at once, so they do not wait to be spilled.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from ragprism.tracing.otlp import TraceAttributes
from ragprism.tracing.sizes import score_size, span_size
from ragprism.tracing.stats import ExportStats

Item = tuple[ReadableSpan, TraceAttributes]
MAX_SCORES = 1_000  # per tenant; past it the oldest score is dropped ("queue full")


class MemoryBudget:
    """Bytes that all tenants hold in memory (queued spans, encoded batches), against
    ``limit`` (0: no limit). Above ``spill_at`` tenants move batches to the spool."""

    __slots__ = ("_lock", "limit", "spill_at", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spill_at = limit * 3 // 4 if limit > 0 else 0
        self.used = 0
        self._lock = threading.Lock()

    def reserve(self, n: int, ceiling: int | None = None) -> bool:
        """Take ``n`` bytes if they fit in the budget (or under ``ceiling``)."""
        with self._lock:
            limit = self.limit if ceiling is None else ceiling
            if self.limit > 0 and self.used + n > limit:
                return False
            self.used += n
            return True

    def charge(self, n: int) -> None:
        """Take ``n`` bytes whatever the budget (batches already in memory)."""
        with self._lock:
            self.used += n

    def release(self, n: int) -> None:
        if n:
            with self._lock:
                self.used -= n

    def spilling(self) -> bool:
        return self.spill_at > 0 and self.used > self.spill_at


class Schedule:
    """A heap of ``(due, tenant_id)``; ``next()`` blocks until one is due."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._planned: dict[str, float] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False

    def plan(self, tenant_id: str, due: float) -> None:
        """Make ``tenant_id`` due at ``due`` (monotonic) unless it already is earlier."""
        with self._cond:
            planned = self._planned.get(tenant_id)
            if planned is not None and planned <= due:
                return
            self._planned[tenant_id] = due
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (due, next(self._seq), tenant_id))
            if earliest is None or due < earliest:
                self._cond.notify()

    def next(self, timeout: float) -> str | None:
        """The next due tenant, waiting up to ``timeout``; None on timeout or close."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    due, _, tenant_id = heapq.heappop(self._heap)
                    if self._planned.get(tenant_id) == due:
                        del self._planned[tenant_id]
                        return tenant_id
                    continue  # superseded by an earlier plan
                wait = deadline - now
                if wait <= 0:
                    return None
                if self._heap:
                    wait = min(wait, self._heap[0][0] - now)
                self._cond.wait(wait)
            return None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._planned)


class TenantQueue:
    """Ended spans and scores of one tenant waiting for export; drops oldest when full
    (``capacity`` spans, or ``max_bytes`` of them)."""

    __slots__ = (
        "_lock",
        "batch_bytes",
        "batch_size",
        "bytes",
        "capacity",
        "closed",
        "closed_reason",
        "first_at",
        "flush_interval",
        "max_bytes",
        "memory",
        "schedule",
        "score_bytes",
        "score_sizes",
        "scores",
        "sizes",
        "spans",
        "spill_at",
        "spill_planned",
        "stats",
        "tenant_id",
    )

    def __init__(
        self,
        tenant_id: str,
        *,
        capacity: int,
        flush_interval: float,
        batch_size: int,
        stats: ExportStats,
        schedule: Schedule,
        batch_bytes: int = 0,
        max_bytes: int = 0,
        memory: MemoryBudget | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.capacity = capacity
        self.flush_interval = flush_interval
        self.stats = stats
        self.schedule = schedule
        self.batch_bytes = batch_bytes  # 0: batches are cut by count only
        self.max_bytes = max_bytes  # 0: no byte cap for this tenant
        self.spill_at = max_bytes * 3 // 4
        self.memory = memory or MemoryBudget(0)
        self.bytes = 0  # estimated size of the queued spans
        self.spill_planned = False
        self.spans: deque[Item] = deque()
        self.sizes: deque[int] = deque()  # span_size of each queued span, in step
        self.scores: deque[dict[str, Any]] = deque()
        self.score_sizes: deque[int] = deque()  # score_size of each queued score, in step
        self.score_bytes = 0
        self.first_at: float | None = None
        self.closed = False
        self.closed_reason = ""
        self._lock = threading.Lock()
        self.batch_size = batch_size

    def put(self, span: ReadableSpan, trace: TraceAttributes) -> None:
        """Append an ended span (its size estimated once, then O(1), no I/O); plans the
        tenant when it becomes due, or at once when it is over its share of memory."""
        size = span_size(span, trace)
        with self._lock:
            if self.closed:  # the configuration went away mid-trace, or the engine stopped
                self.stats.drop(self.closed_reason)
                return
            self.stats.queued += 1  # only ever written here, under this lock
            if len(self.spans) >= self.capacity:
                self._pop_oldest("queue full")
            while self.max_bytes and self.spans and self.bytes + size > self.max_bytes:
                self._pop_oldest("memory budget")
            if not self.memory.reserve(size):  # all tenants together are at the budget
                self.stats.drop("memory budget")
                return
            self.spans.append((span, trace))
            self.sizes.append(size)
            before, self.bytes = self.bytes, self.bytes + size
            count = len(self.spans)
            if not self.spill_planned and (
                (self.spill_at and self.bytes > self.spill_at) or self.memory.spilling()
            ):
                self.spill_planned = True
                due = time.monotonic()
                if count == 1:
                    self.first_at = due
            elif count == 1:
                self.first_at = time.monotonic()
                due = self.first_at + self.flush_interval
            elif count == self.batch_size or (
                self.batch_bytes and before < self.batch_bytes <= self.bytes
            ):
                due = time.monotonic()
            else:
                return
        self.schedule.plan(self.tenant_id, due)

    def _pop_oldest(self, reason: str) -> None:
        self.spans.popleft()
        size = self.sizes.popleft()
        self.bytes -= size
        self.memory.release(size)
        self.stats.drop(reason)

    def over_budget(self) -> bool:
        """Whether the worker should move this tenant's batches to the spool now (its
        spans are past three quarters of its byte cap, or everyone's past three quarters
        of the memory budget). Clears the put's "planned for spilling" mark otherwise."""
        with self._lock:
            over = bool(self.spans) and (
                (self.spill_at > 0 and self.bytes > self.spill_at) or self.memory.spilling()
            )
            self.spill_planned = over
            return over

    def full(self) -> bool:
        """Whether a whole batch is queued (by count or by bytes)."""
        return len(self.spans) >= self.batch_size or (
            self.batch_bytes > 0 and self.bytes >= self.batch_bytes
        )

    def put_score(self, score: dict[str, Any]) -> None:
        """Append a score (a feedback, its comment up to the field cap); it counts against
        the tenant's and everyone's memory like spans; at most ``MAX_SCORES`` are kept."""
        size = score_size(score)
        with self._lock:
            if self.closed:
                self.stats.drop(self.closed_reason)
                return
            self.stats.queued += 1
            if len(self.scores) >= MAX_SCORES:
                self._pop_oldest_score()
                self.stats.drop("queue full")
            if (
                self.max_bytes and self.bytes + self.score_bytes + size > self.max_bytes
            ) or not self.memory.reserve(size):
                self.stats.drop("memory budget")
                return
            self.scores.append(score)
            self.score_sizes.append(size)
            self.score_bytes += size
        self.schedule.plan(self.tenant_id, time.monotonic())

    def _pop_oldest_score(self) -> dict[str, Any]:
        size = self.score_sizes.popleft()
        self.score_bytes -= size
        self.memory.release(size)
        return self.scores.popleft()

    def take_spans(self, limit: int, max_bytes: int = 0) -> list[Item]:
        """The oldest spans, up to ``limit`` of them and (but at least one) ``max_bytes``
        of estimated size."""
        with self._lock:
            batch: list[Item] = []
            taken = 0
            spans, sizes = self.spans, self.sizes
            while spans and len(batch) < limit:
                if max_bytes and batch and taken + sizes[0] > max_bytes:
                    break
                batch.append(spans.popleft())
                taken += sizes.popleft()
            self.bytes -= taken
            self.memory.release(taken)
            self.first_at = time.monotonic() if spans else None
            return batch

    def take_score(self) -> dict[str, Any] | None:
        with self._lock:
            return self._pop_oldest_score() if self.scores else None

    def due_at(self, *, now: float, flushing: bool) -> float | None:
        """When this queue next needs a worker, or None if it is empty."""
        with self._lock:
            if self.scores or self.full() or (self.spans and flushing):
                return now
            if self.spans and self.first_at is not None:
                return self.first_at + self.flush_interval
            return None

    def close(self, reason: str) -> tuple[list[Item], list[dict[str, Any]]]:
        """Refuse more (each later item is counted as dropped for ``reason``) and hand
        back everything queued."""
        with self._lock:
            self.closed, self.closed_reason = True, reason
            spans, scores = list(self.spans), list(self.scores)
            self.spans.clear()
            self.sizes.clear()
            self.scores.clear()
            self.score_sizes.clear()
            self.memory.release(self.bytes + self.score_bytes)
            self.bytes = self.score_bytes = 0
            self.first_at = None
            return spans, scores

    def __len__(self) -> int:
        return len(self.spans) + len(self.scores)
