"""A durable on-disk spool of batches that could not be delivered (SQLite, WAL).

Rows hold the already encoded (gzip'd OTLP, or JSON score) request body, so a replay is a
plain POST. Each tenant has a byte budget: beyond it the oldest rows are dropped and
counted. A row is removed only after Langfuse accepted it. Several processes may share
the file: a worker *claims* the oldest row of a tenant with a lease before sending it,
so two processes never replay the same row at once.

The file is created 0600 and shrinks again: freed pages are returned by an incremental
vacuum in the engine's housekeeping.

Commits survive the death of the process (``kill -9`` included: WAL, ``synchronous=NORMAL``
loses nothing to a process crash, only possibly the last commits to a power cut). A lease
names its owner, and each owner holds an exclusive ``flock`` on its own file in
``<spool>.owners/`` while it runs; the kernel drops that lock when the process dies,
however it dies. So leases of a dead owner are given back at once (at start-up and in
the periodic housekeeping) instead of blocking their rows until the lease expires, while
a live process's lease is never taken over. Without ``fcntl`` leases just expire.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path

from ragprism.tracing.sender import Batch, BatchKind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    items INTEGER NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    first_failed REAL NOT NULL DEFAULT 0,
    host TEXT NOT NULL DEFAULT '',
    project_id TEXT NOT NULL DEFAULT '',
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_by_tenant ON batches (tenant_id, id);
"""
# Columns added since the first version, and how (the schema migration).
_ADDED_COLUMNS = {
    "owner": "TEXT NOT NULL DEFAULT ''",
    "attempts": "INTEGER NOT NULL DEFAULT 0",
    "first_failed": "REAL NOT NULL DEFAULT 0",
    "host": "TEXT NOT NULL DEFAULT ''",
    "project_id": "TEXT NOT NULL DEFAULT ''",
}
_OWNER_INDEX = "CREATE INDEX IF NOT EXISTS batches_by_owner ON batches (owner) WHERE owner != ''"

try:
    import fcntl
except ImportError:  # not POSIX: leases only expire
    fcntl = None  # type: ignore[assignment]


class _Owners:
    """Which users of the spool file are alive: each holds an exclusive ``flock`` on
    ``<directory>/<token>`` for as long as it runs."""

    def __init__(self, directory: Path) -> None:
        self.token = uuid.uuid4().hex
        self._dir = directory
        self._fd: int | None = None
        if fcntl is None:
            return
        directory.mkdir(mode=0o700, exist_ok=True)
        # Lock under a temporary name, then rename: nobody ever sees our file unlocked.
        temporary = directory / f"{self.token}.new"
        fd = os.open(temporary, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(temporary, directory / self.token)
        self._fd = fd

    def alive(self, token: str) -> bool:
        """False only when ``token``'s process is certainly gone (its file is then removed)."""
        if token == self.token or fcntl is None or not token.isalnum():
            return True
        path = self._dir / token
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False  # its owner died and someone already cleaned up
        except OSError:
            return True  # cannot tell: its leases expire instead
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True  # locked: the owner runs
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return False
        finally:
            os.close(fd)

    def others(self) -> list[str]:
        """Tokens of the other owner files (dead ones included, until cleaned up)."""
        if fcntl is None:
            return []
        try:
            names = os.listdir(self._dir)
        except OSError:
            return []
        return [name for name in names if name.isalnum() and name != self.token]

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                (self._dir / self.token).unlink()
            os.close(self._fd)
            self._fd = None


class SpanSpool:
    """Batches by tenant, oldest first, within ``max_bytes_per_tenant`` each."""

    def __init__(self, path: Path, *, max_bytes_per_tenant: int, lease: float = 60.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes_per_tenant
        self.lease = lease
        self._lock = threading.Lock()
        # Private to the server's user: spans can hold prompts and answers. SQLite gives
        # its -wal and -shm files the database file's mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            with contextlib.suppress(FileNotFoundError):
                os.chmod(file, 0o600)  # a spool written by an older version
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # Before the first table: freed pages can then be given back (see compact()).
        self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(batches)")}
        for column, declaration in _ADDED_COLUMNS.items():
            if column not in columns:  # a spool written by an older version
                with contextlib.suppress(sqlite3.OperationalError):  # another process added it
                    self._db.execute(f"ALTER TABLE batches ADD COLUMN {column} {declaration}")
        self._db.execute(_OWNER_INDEX)
        self._owners = _Owners(path.with_name(path.name + ".owners"))
        self._closed = False
        self.recover()

    def put(self, tenant_id: str, batch: Batch) -> tuple[int, int]:
        """Store ``batch``; returns its row id and how many items the budget pushed out
        (older rows of the tenant, or this batch itself if it alone is too big)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute(
                    "INSERT INTO batches (tenant_id, kind, version, items, size, created,"
                    " attempts, first_failed, host, project_id, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        tenant_id,
                        batch.kind,
                        batch.version,
                        batch.count,
                        len(batch.payload),
                        time.time(),
                        batch.attempts,
                        batch.first_failed or 0.0,
                        *(batch.project or ("", "")),
                        batch.payload,
                    ),
                )
                row_id = int(cursor.lastrowid or 0)
                dropped = self._enforce_budget(tenant_id)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return row_id, dropped

    def split(self, spool_id: int, first: Batch, second: Batch) -> int:
        """Replace the batch ``spool_id`` by its two halves (Langfuse found it too large):
        ``first`` keeps its place in line, ``second`` goes after it. Both are unclaimed.
        Returns how many items the tenant's budget pushed out."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT tenant_id, created, host, project_id FROM batches WHERE id = ?",
                    (spool_id,),
                ).fetchone()
                if row is None:  # deleted meanwhile (the tenant's configuration went away)
                    self._db.execute("COMMIT")
                    return 0
                tenant_id, created, host, project_id = row
                self._db.execute(
                    "UPDATE batches SET items = ?, size = ?, payload = ?, attempts = ?,"
                    " first_failed = ?, lease_until = 0, owner = '' WHERE id = ?",
                    (
                        first.count,
                        len(first.payload),
                        first.payload,
                        first.attempts,
                        first.first_failed or 0.0,
                        spool_id,
                    ),
                )
                self._db.execute(
                    "INSERT INTO batches (tenant_id, kind, version, items, size, created,"
                    " attempts, first_failed, host, project_id, payload)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        tenant_id,
                        second.kind,
                        second.version,
                        second.count,
                        len(second.payload),
                        created,
                        second.attempts,
                        second.first_failed or 0.0,
                        host,
                        project_id,
                        second.payload,
                    ),
                )
                dropped = self._enforce_budget(tenant_id)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return dropped

    def _enforce_budget(self, tenant_id: str) -> int:
        (total,) = self._db.execute(
            "SELECT COALESCE(SUM(size), 0) FROM batches WHERE tenant_id = ?", (tenant_id,)
        ).fetchone()
        dropped = 0
        if total <= self.max_bytes:
            return 0
        rows = self._db.execute(
            "SELECT id, size, items FROM batches WHERE tenant_id = ? ORDER BY id", (tenant_id,)
        ).fetchall()
        for row_id, size, items in rows:
            if total <= self.max_bytes:
                break
            self._db.execute("DELETE FROM batches WHERE id = ?", (row_id,))
            total -= size
            dropped += items
        return dropped

    def claim(self, tenant_id: str) -> Batch | None:
        """The oldest unclaimed batch of ``tenant_id``, leased to this caller."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT id, kind, version, items, attempts, first_failed, host, project_id,"
                    " payload FROM batches"
                    " WHERE tenant_id = ? AND lease_until < ? ORDER BY id LIMIT 1",
                    (tenant_id, now),
                ).fetchone()
                if row is not None:
                    self._db.execute(
                        "UPDATE batches SET lease_until = ?, owner = ? WHERE id = ?",
                        (now + self.lease, self._owners.token, row[0]),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        if row is None:
            return None
        row_id, kind, version, items, attempts, first_failed, host, project_id, payload = row
        kind_: BatchKind = "score" if kind == "score" else "otlp"
        return Batch(
            kind_,
            bytes(payload),
            int(items),
            int(version),
            spool_id=int(row_id),
            attempts=int(attempts),
            first_failed=float(first_failed) or None,
            project=(str(host), str(project_id)) if host else None,
        )

    def release(self, spool_id: int, batch: Batch | None = None) -> None:
        """Give a claimed batch back (its send failed, or the process stops); it stays
        first in line. With ``batch``, its attempts and first failure are stored."""
        if batch is None:
            self._write("UPDATE batches SET lease_until = 0, owner = '' WHERE id = ?", (spool_id,))
            return
        self._write(
            "UPDATE batches SET lease_until = 0, owner = '', attempts = ?, first_failed = ?"
            " WHERE id = ?",
            (batch.attempts, batch.first_failed or 0.0, spool_id),
        )

    def recover(self) -> int:
        """Give back the leases of owners that died (a ``kill -9`` or a crash while a batch
        was being sent), so their batches are replayed now, in order, rather than after
        the lease expires. Returns how many batches were given back."""
        with self._lock:
            if self._closed:
                return 0
            rows = self._db.execute(
                "SELECT DISTINCT owner FROM batches WHERE owner != '' AND lease_until >= ?",
                (time.time(),),
            ).fetchall()
        leased = {str(row[0]) for row in rows}
        dead = [t for t in leased | set(self._owners.others()) if not self._owners.alive(t)]
        released = 0
        for token in dead:
            with self._lock:
                if self._closed:
                    break
                cursor = self._db.execute(
                    "UPDATE batches SET lease_until = 0, owner = '' WHERE owner = ?", (token,)
                )
                released += max(cursor.rowcount, 0)
        return released

    def delete(self, spool_id: int) -> None:
        """Forget a batch Langfuse accepted."""
        self._write("DELETE FROM batches WHERE id = ?", (spool_id,))

    def discard(self, tenant_id: str) -> int:
        """Delete every batch of ``tenant_id``; returns how many items they held."""
        with self._lock:
            if self._closed:
                return 0
            (items,) = self._db.execute(
                "SELECT COALESCE(SUM(items), 0) FROM batches WHERE tenant_id = ?", (tenant_id,)
            ).fetchone()
            self._db.execute("DELETE FROM batches WHERE tenant_id = ?", (tenant_id,))
        return int(items)

    def has(self, tenant_id: str) -> bool:
        with self._lock:
            if self._closed:
                return False
            row = self._db.execute(
                "SELECT 1 FROM batches WHERE tenant_id = ? AND lease_until < ? LIMIT 1",
                (tenant_id, time.time()),
            ).fetchone()
        return row is not None

    def tenants(self) -> list[str]:
        """Tenants with spooled batches (any process's)."""
        with self._lock:
            if self._closed:
                return []
            rows = self._db.execute("SELECT DISTINCT tenant_id FROM batches").fetchall()
        return [str(row[0]) for row in rows]

    def usage(self, tenant_id: str) -> tuple[int, int, int]:
        """``(batches, items, bytes)`` spooled for ``tenant_id``."""
        with self._lock:
            if self._closed:
                return 0, 0, 0
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(items), 0), COALESCE(SUM(size), 0)"
                " FROM batches WHERE tenant_id = ?",
                (tenant_id,),
            ).fetchone()
        return int(row[0]), int(row[1]), int(row[2])

    def pages(self) -> int:
        """Pages of the database file, free ones included."""
        with self._lock:
            if self._closed:
                return 0
            return int(self._db.execute("PRAGMA page_count").fetchone()[0])

    def compact(self, *, min_free: int = 256) -> int:
        """Give the space of deleted batches back to the file system once at least
        ``min_free`` pages are free (incrementally; a spool made before auto-vacuum is
        rebuilt once it is mostly empty). Returns how many pages were freed."""
        with self._lock:
            if self._closed:
                return 0
            free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
            if free < min_free:
                return 0
            mode = int(self._db.execute("PRAGMA auto_vacuum").fetchone()[0])
            if mode == 2:
                # executescript steps the pragma to the end (execute() frees one page)
                self._db.executescript("PRAGMA incremental_vacuum;")
            elif 2 * free >= int(self._db.execute("PRAGMA page_count").fetchone()[0]):
                self._db.execute("VACUUM")  # also switches the file to incremental mode
            else:
                return 0
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            return free - int(self._db.execute("PRAGMA freelist_count").fetchone()[0])

    def _write(self, sql: str, params: tuple[object, ...]) -> None:
        with self._lock:
            if not self._closed:
                self._db.execute(sql, params)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()
                self._owners.close()
