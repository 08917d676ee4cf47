"""Bounded per-tenant queues of ended spans and scores, and the schedule of due ones.

A queue is *due* when it holds a full batch or its oldest item has waited
``flush_interval``; ``Schedule`` keeps a heap of due times so that a fixed pool of
workers can wait for the next due tenant without scanning every queue.
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
from ragprism.tracing.stats import ExportStats

Item = tuple[ReadableSpan, TraceAttributes]


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
    """Ended spans and scores of one tenant waiting for export; drops oldest when full."""

    __slots__ = (
        "_lock",
        "batch_size",
        "capacity",
        "closed",
        "closed_reason",
        "first_at",
        "flush_interval",
        "schedule",
        "scores",
        "spans",
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
    ) -> None:
        self.tenant_id = tenant_id
        self.capacity = capacity
        self.flush_interval = flush_interval
        self.stats = stats
        self.schedule = schedule
        self.spans: deque[Item] = deque()
        self.scores: deque[dict[str, Any]] = deque(maxlen=1_000)
        self.first_at: float | None = None
        self.closed = False
        self.closed_reason = ""
        self._lock = threading.Lock()
        self.batch_size = batch_size

    def put(self, span: ReadableSpan, trace: TraceAttributes) -> None:
        """Append an ended span (O(1), no I/O); plans the tenant when it becomes due."""
        with self._lock:
            if self.closed:  # the configuration went away mid-trace, or the engine stopped
                self.stats.drop(self.closed_reason)
                return
            if len(self.spans) >= self.capacity:
                self.spans.popleft()
                self.stats.drop("queue full")
            self.spans.append((span, trace))
            self.stats.queued += 1  # only ever written here, under this lock
            size = len(self.spans)
            if size == 1:
                self.first_at = time.monotonic()
                due = self.first_at + self.flush_interval
            elif size == self.batch_size:
                due = time.monotonic()
            else:
                return
        self.schedule.plan(self.tenant_id, due)

    def put_score(self, score: dict[str, Any]) -> None:
        with self._lock:
            if self.closed:
                self.stats.drop(self.closed_reason)
                return
            if len(self.scores) == self.scores.maxlen:
                self.stats.drop("queue full")
            self.scores.append(score)
            self.stats.queued += 1
        self.schedule.plan(self.tenant_id, time.monotonic())

    def take_spans(self, limit: int) -> list[Item]:
        with self._lock:
            n = min(limit, len(self.spans))
            batch = [self.spans.popleft() for _ in range(n)]
            self.first_at = time.monotonic() if self.spans else None
            return batch

    def take_score(self) -> dict[str, Any] | None:
        with self._lock:
            return self.scores.popleft() if self.scores else None

    def due_at(self, *, now: float, flushing: bool) -> float | None:
        """When this queue next needs a worker, or None if it is empty."""
        with self._lock:
            if self.scores or len(self.spans) >= self.batch_size or (self.spans and flushing):
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
            self.scores.clear()
            self.first_at = None
            return spans, scores

    def __len__(self) -> int:
        return len(self.spans) + len(self.scores)
