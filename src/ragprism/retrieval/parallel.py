"""Extra connections on which one search's vector side runs beside its full-text side.

A hybrid search has two independent halves: the full-text top ``top_k`` and the
nearest vectors, each followed by scoring the other half's candidates. On PostgreSQL
with pgvector both are statements of ~20–35 ms, so running one on a second connection
hides the shorter behind the longer.

``SideConnections`` lends such a second connection without ever waiting for one: it
holds ``limit`` permits, and a search that finds none free at once gets ``None`` and
runs its sides one after the other on its own connection. The side connections come
from a pool of their own (``engine.pool.recreate()``: same connect arguments, dialect
set-up, pre-ping and recycling as the engine's) that never has more than ``limit``
connections checked out, so taking one never waits either, and a search never holds
two connections of the engine's pool (no deadlock against other requests). The work
runs in a thread pool of ``limit`` threads; the side connection is closed (returned)
by the thread before the permit is released, whatever happened. Both the pool and the
threads are dropped when the engine is disposed and made again on next use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import Pool, QueuePool

T = TypeVar("T")


def capacity(pool: Pool) -> int | None:
    """Most connections ``pool`` hands out at once (``None``: no bound)."""
    if isinstance(pool, QueuePool):
        overflow = pool._max_overflow
        return None if overflow < 0 else pool.size() + overflow
    return None


class SideConnections:
    """Up to ``limit`` second connections for searches, never waited for."""

    def __init__(self, engine: Engine, limit: int) -> None:
        self.engine = engine
        bound = capacity(engine.pool)
        self.limit = max(0, limit if bound is None else min(limit, bound))
        self._permits = threading.BoundedSemaphore(max(1, self.limit))
        self._lock = threading.Lock()
        self._pool: Pool | None = None
        self._executor: ThreadPoolExecutor | None = None
        event.listen(engine, "engine_disposed", self._on_dispose)

    def submit(self, work: Callable[[Connection], T]) -> Future[T] | None:
        """Run ``work(connection)`` on a side connection; ``None`` if none is free now."""
        if self.limit == 0 or not self._permits.acquire(blocking=False):
            return None
        try:
            with self._lock:
                if self._pool is None:
                    self._pool = self.engine.pool.recreate()
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        self.limit, thread_name_prefix="ragprism-search"
                    )
                pool, executor = self._pool, self._executor
            return executor.submit(self._run, pool, work)
        except RuntimeError:  # the engine was disposed meanwhile (executor shut down)
            self._permits.release()
            return None
        except BaseException:
            self._permits.release()
            raise

    def _run(self, pool: Pool, work: Callable[[Connection], T]) -> T:
        try:
            with Connection(self.engine, connection=pool.connect()) as conn:
                return work(conn)
        finally:
            self._permits.release()

    def checked_out(self) -> int:
        """Side connections in use now (0 when idle)."""
        with self._lock:
            pool = self._pool
        return 0 if pool is None or not isinstance(pool, QueuePool) else pool.checkedout()

    def _on_dispose(self, _engine: Any) -> None:
        with self._lock:
            pool, executor = self._pool, self._executor
            self._pool = self._executor = None
        if executor is not None:
            executor.shutdown(wait=True)
        if pool is not None:
            pool.dispose()
