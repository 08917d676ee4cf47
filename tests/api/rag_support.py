"""Helpers for the dataset, document, chunk and retrieval API tests."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ragprism.llm import RetryPolicy
from ragprism.runtime import Runtime
from ragprism.services.knowledge.parse_worker import wait_for_parsing

API = "/api/v1"
MISSING_ID = "0123456789abcdef0123456789abcdef"


def fail_fast_models(state: Runtime, monkeypatch: pytest.MonkeyPatch, timeout: float = 2.0) -> None:
    """Model provider calls in a test fail fast: a short timeout and no retries."""
    monkeypatch.setattr(
        state.models,
        "_connection_options",
        lambda tenant_id, verify=False: {"timeout": timeout, "retry": RetryPolicy(attempts=1)},
    )


def pdf_bytes(*pages: str) -> bytes:
    """A small PDF with one page per text (fpdf2)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def docx_bytes(*paragraphs: str) -> bytes:
    """A small Word document (python-docx)."""
    from docx import Document

    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


class Rag:
    """One tenant's view of the RAG routes, asserting success unless told otherwise."""

    def __init__(self, client: TestClient, headers: dict[str, str], state: Runtime) -> None:
        self.client = client
        self.headers = headers
        self.state = state

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.client.request(method, API + path, headers=self.headers, **kwargs)
        assert response.status_code < 500, response.text
        body: dict[str, Any] = response.json()
        return body

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        body = self.call(method, path, **kwargs)
        assert body["code"] == 0, body
        return body.get("data")

    def dataset(self, name: str = "kb", **fields: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.ok("POST", "/datasets", json={"name": name, **fields})
        return data

    def upload(self, dataset_id: str, *files: tuple[str, bytes]) -> list[dict[str, Any]]:
        parts = [("file", (name, data)) for name, data in files]
        data: list[dict[str, Any]] = self.ok(
            "POST", f"/datasets/{dataset_id}/documents", files=parts
        )
        return data

    def parse(self, dataset_id: str, *document_ids: str) -> dict[str, str]:
        """Queue the documents and wait until none is RUNNING; their final ``run``."""
        self.ok("POST", f"/datasets/{dataset_id}/chunks", json={"document_ids": list(document_ids)})
        return wait_for_parsing(self.state, list(document_ids))

    def document(self, dataset_id: str, document_id: str) -> dict[str, Any]:
        data = self.ok("GET", f"/datasets/{dataset_id}/documents", params={"id": document_id})
        docs: list[dict[str, Any]] = data["docs"]
        assert len(docs) == 1
        return docs[0]

    def chunks(self, dataset_id: str, document_id: str, **params: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.ok(
            "GET", f"/datasets/{dataset_id}/documents/{document_id}/chunks", params=params
        )
        return data

    def retrieve(self, **body: Any) -> dict[str, Any]:
        data: dict[str, Any] = self.ok("POST", "/retrieval", json=body)
        return data

    def ingest(self, name: str, data: bytes, dataset_id: str | None = None) -> tuple[str, str]:
        """Upload and parse one file (in a new dataset unless given); (dataset, document)."""
        dataset_id = dataset_id or self.dataset(f"kb-{name}")["id"]
        (document,) = self.upload(dataset_id, (name, data))
        assert self.parse(dataset_id, document["id"]) == {document["id"]: "DONE"}
        return dataset_id, document["id"]
