"""Issue 13: one tenant's hostile documents neither stall nor starve another tenant's.

Real parse workers (two threads) serve the queue; the budgets are small so the test is
quick. The PDF (60 pages sharing one 1 MiB content stream) and the .docx (16 MiB of XML
deflated to a few KB) are generated here. The assertions are on outcomes and order, not
on durations.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ragprism.models import Document
from ragprism.runtime import Runtime
from ragprism.services.knowledge.parse_worker import wait_for_parsing
from ragprism.settings import Settings
from tests.api.rag_support import Rag
from tests.conftest import Accounts
from tests.support.hostile_documents import MiB, inflating_docx, shared_stream_pdf

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]


@pytest.fixture
def small_budgets(settings: Settings) -> None:
    settings.parse_workers = 2
    settings.parse_tenant_concurrency = 1
    settings.parse_timeout_seconds = 8.0
    settings.parse_memory_mib = 96
    settings.parse_poll_seconds = 0.2


def run_of(state: Runtime, document_id: str) -> str:
    with state.db.session() as session:
        document = session.get(Document, document_id)
        assert document is not None
        return document.run


def test_hostile_documents_fail_within_budget_while_another_tenant_parses(
    small_budgets: None, client: TestClient, accounts: Accounts, state: Runtime
) -> None:
    attacker = Rag(client, accounts.user("mallory@example.com"), state)
    neighbour = Rag(client, accounts.user("ann@example.com"), state)
    hostile_set = attacker.dataset("hostile")["id"]
    pdf, docx = attacker.upload(
        hostile_set,
        ("pages.pdf", shared_stream_pdf(pages=60, stream_bytes=MiB)),
        ("bomb.docx", inflating_docx(xml_bytes=16 * MiB)),
    )
    attacker.ok(
        "POST", f"/datasets/{hostile_set}/chunks", json={"document_ids": [pdf["id"], docx["id"]]}
    )
    notes_set = neighbour.dataset("notes")["id"]
    (note,) = neighbour.upload(notes_set, ("note.txt", b"Bees make honey in hives."))
    neighbour.ok("POST", f"/datasets/{notes_set}/chunks", json={"document_ids": [note["id"]]})

    assert wait_for_parsing(state, [note["id"]], timeout=90) == {note["id"]: "DONE"}
    # The neighbour did not wait for the attacker's documents: at most one of them is
    # parsed at a time, and the one being parsed is still within its time budget.
    assert "RUNNING" in {run_of(state, pdf["id"]), run_of(state, docx["id"])}

    runs = wait_for_parsing(state, [pdf["id"], docx["id"]], timeout=90)
    assert runs == {pdf["id"]: "FAIL", docx["id"]: "FAIL"}
    pdf_log = attacker.document(hostile_set, pdf["id"])["progress_msg"]
    assert "[ERROR] parsing pages.pdf took longer than its budget of 8 s" in pdf_log
    docx_log = attacker.document(hostile_set, docx["id"])["progress_msg"]
    assert "[ERROR] parsing bomb.docx needed more than its memory budget of 96 MiB" in docx_log
    assert neighbour.document(notes_set, note["id"])["chunk_count"] == 1
