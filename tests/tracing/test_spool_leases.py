"""Spool leases across process death: a batch leased by a process that was killed (kill -9)
is replayed at the next start, once, without waiting for the lease to expire; a live
process's lease is never taken over."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from ragprism.tracing import RetryPolicy
from ragprism.tracing.sender import Batch
from ragprism.tracing.spool import SpanSpool
from tests.support.langfuse_server import FakeLangfuse
from tests.tracing.conftest import EngineFactory
from tests.tracing.helpers import DictSource, project, send_traces, wait_until

NO_RETRY = RetryPolicy(base=0.05, cap=0.2, attempts=1, unauthorized_probe=60.0)
BUDGET = 1 << 30

# Claims the oldest batch of a tenant with a 10-minute lease, says which, then waits to die.
CLAIMER = """
import sys, time
from pathlib import Path
from ragprism.tracing.spool import SpanSpool
spool = SpanSpool(Path(sys.argv[1]), max_bytes_per_tenant=1 << 30, lease=600.0)
batch = spool.claim(sys.argv[2])
print(batch.spool_id if batch is not None else 0, flush=True)
time.sleep(600)
"""


def claim_and_die(path: Path, tenant_id: str) -> int:
    """Have another process lease ``tenant_id``'s oldest batch, then SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, str(path), tenant_id], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        spool_id = int(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert spool_id > 0
    return spool_id


def lease_left(path: Path, spool_id: int) -> float:
    with sqlite3.connect(path) as db:
        (until,) = db.execute(
            "SELECT lease_until FROM batches WHERE id = ?", (spool_id,)
        ).fetchone()
    return float(until) - time.time()


def test_batch_leased_by_a_killed_process_is_replayed_once_at_start(
    make_engine: EngineFactory, source: DictSource, fake_langfuse: FakeLangfuse, tmp_path: Path
) -> None:
    first = make_engine(retry=NO_RETRY)
    dest = project(fake_langfuse, source)
    first.invalidate(dest.tenant_id)
    fake_langfuse.status(503, endpoints="otel")
    ids = send_traces(first, dest.tenant_id, 10)
    wait_until(lambda: first.health(dest.tenant_id)["spooled"] == 20, message="spooled")
    first.shutdown(deadline=1.0)

    path = tmp_path / "spool.db"
    spool_id = claim_and_die(path, dest.tenant_id)  # killed while "sending" the oldest batch
    assert lease_left(path, spool_id) > 500  # the dead process's lease is still on the row

    fake_langfuse.clear_faults()
    second = make_engine()
    # Well before the lease would expire: the kernel released the dead owner's lock.
    spans = fake_langfuse.wait_for_spans(20, timeout=10.0, project_id=dest.project_id)
    assert second.flush(5.0)
    spans = fake_langfuse.spans(dest.project_id)
    assert len(spans) == 20
    assert len({s["span_id"] for s in spans}) == 20  # no duplicates
    assert {s["trace_id"] for s in spans} == set(ids)
    assert second.health(dest.tenant_id)["spool"]["batches"] == 0
    owners = [p.name for p in (tmp_path / "spool.db.owners").iterdir()]
    assert len(owners) == 1  # the running engine's; the dead process's file was cleaned up


def batch(n: int = 1) -> Batch:
    return Batch("otlp", b"x" * 10, n, 1)


def test_a_live_owner_keeps_its_lease(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    a = SpanSpool(path, max_bytes_per_tenant=BUDGET, lease=600.0)
    b = SpanSpool(path, max_bytes_per_tenant=BUDGET, lease=600.0)
    try:
        a.put("t", batch())
        claimed = a.claim("t")
        assert claimed is not None
        assert b.recover() == 0
        assert b.claim("t") is None  # leased by a live owner
        a.close()  # gone without giving the batch back (as if its worker hung at exit)
        assert b.recover() == 1
        again = b.claim("t")
        assert again is not None
        assert again.spool_id == claimed.spool_id
    finally:
        a.close()
        b.close()


def test_a_spool_from_an_older_version_gains_the_owner_column(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE batches (
                id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL,
                kind TEXT NOT NULL, version INTEGER NOT NULL, items INTEGER NOT NULL,
                size INTEGER NOT NULL, created REAL NOT NULL,
                lease_until REAL NOT NULL DEFAULT 0, payload BLOB NOT NULL);
            INSERT INTO batches (tenant_id, kind, version, items, size, created, payload)
                VALUES ('t', 'otlp', 1, 3, 1, 0, x'00');
            """
        )
    db.close()
    spool = SpanSpool(path, max_bytes_per_tenant=BUDGET)
    try:
        old = spool.claim("t")
        assert old is not None
        assert old.count == 3
        spool.release(old.spool_id or 0)
        assert spool.usage("t") == (1, 3, 1)
    finally:
        spool.close()
