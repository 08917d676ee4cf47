"""Background threads that parse queued documents (SPEC §4).

Each thread claims one document at a time from the database queue
(``claim_next_document``: tenants in turn, at most ``per_tenant_limit`` documents of one
tenant at once), runs ``services.ingestion`` on it and releases it. The file itself is
parsed in a child process under ``budget`` (``rag.sandbox``). Several processes may share
the queue: claims are leases, so a document whose worker died is taken over once its
lease expires. Idle threads sleep until ``wake()`` (called when
documents are queued by this process) or the poll interval.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select

from ragprism.models import Document, DocumentRun
from ragprism.rag.sandbox import MiB, ParseBudget
from ragprism.repositories import datasets as repo
from ragprism.services.knowledge.ingestion import ClaimedDocument, Ingestion

if TYPE_CHECKING:
    from ragprism.services.context import ServiceContext

log = logging.getLogger(__name__)

DEFAULT_BUDGET = ParseBudget(seconds=300.0, memory_bytes=1024 * MiB)


class ParseWorker:
    """A pool of parsing threads for one process."""

    def __init__(
        self,
        state: ServiceContext,
        *,
        workers: int = 1,
        lease_seconds: float = 60.0,
        poll_seconds: float = 2.0,
        budget: ParseBudget = DEFAULT_BUDGET,
        per_tenant_limit: int | None = 1,
    ) -> None:
        self.state = state
        self.workers = workers
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.budget = budget
        self.per_tenant_limit = per_tenant_limit
        self.process_id = uuid.uuid4().hex[:12]
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start the threads (idempotent)."""
        if self._threads:
            return
        self._stopping.clear()
        for number in range(self.workers):
            thread = threading.Thread(
                target=self._loop,
                args=(f"{self.process_id}-{number}",),
                name=f"ragprism-parse-{number}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """Look for queued documents now instead of at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current step; a document being parsed is left claimed and is
        taken over by another worker when its lease expires."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def run_once(self, worker_id: str) -> str | None:
        """Claim and parse one document; its id, or None if the queue was empty."""
        with self.state.db.session() as session:
            document = repo.claim_next_document(
                session, worker_id, self.lease_seconds, per_tenant_limit=self.per_tenant_limit
            )
            claimed = ClaimedDocument.of(document) if document is not None else None
        if claimed is None:
            return None
        Ingestion(self.state, worker_id, self.lease_seconds, claimed, self.budget).run()
        return claimed.id

    def _loop(self, worker_id: str) -> None:
        while not self._stopping.is_set():
            try:
                parsed = self.run_once(worker_id)
            except Exception:  # a database hiccup must not kill the thread
                log.exception("parse worker %s failed to claim a document", worker_id)
                parsed = None
            if parsed is None and not self._stopping.is_set():
                self._wake.wait(self.poll_seconds)
                self._wake.clear()


def wait_for_parsing(
    state: ServiceContext, document_ids: list[str], timeout: float = 30.0
) -> dict[str, str]:
    """Wake the workers and wait until no document of ``document_ids`` is RUNNING.

    Returns each document's ``run``; raises ``TimeoutError`` after ``timeout`` seconds.
    Meant for tests and scripts.
    """
    deadline = time.monotonic() + timeout
    while True:
        if state.parse_worker is not None:
            state.parse_worker.wake()
        with state.db.session() as session:
            rows = session.execute(
                select(Document.id, Document.run).where(Document.id.in_(document_ids))
            )
            runs = {row.id: row.run for row in rows}
        if all(run != DocumentRun.RUNNING.value for run in runs.values()):
            return runs
        if time.monotonic() > deadline:
            raise TimeoutError(f"documents still parsing after {timeout}s: {runs}")
        time.sleep(0.02)
