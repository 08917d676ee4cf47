"""Excel (.xlsx) and PowerPoint (.pptx) documents: their text, in sections a user can cite,
and refusals of damaged or hostile files."""

from __future__ import annotations

import pytest

from ragprism.rag.parsing import (
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    document_kind,
    parse_document,
)
from ragprism.rag.readers import ooxml
from tests.rag.office_files import BUDGET, SLIDES, pptx_bytes, xlsx_bytes
from tests.rag.test_parsing import assert_consistent, make_zip

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def test_xlsx_sheets_become_sections_of_self_describing_rows() -> None:
    document = parse_document(xlsx_bytes(BUDGET), "budget.xlsx")
    assert document.kind == "xlsx"
    assert [s.heading for s in document.sections] == ["Budget", "Contacts"]
    budget, contacts = (s.text for s in document.sections)
    assert budget.splitlines() == [
        "Team; Amount; Approved",
        "Team: Support; Amount: 12000; Approved: 2026-03-01",
        "Team: Research; Amount: 45000",
    ]
    assert contacts.splitlines() == ["Name; Phone", "Name: Help desk; Phone: 555-0100"]
    assert_consistent(document)


def test_pptx_slides_become_sections_with_titles_tables_and_notes() -> None:
    document = parse_document(pptx_bytes(SLIDES), "review.pptx")
    assert document.kind == "pptx"
    assert [(s.page, s.heading) for s in document.sections] == [
        (1, "Quarterly review"),
        (2, "Sales targets"),
        (3, None),
    ]
    first, second, third = (s.text for s in document.sections)
    assert first.split("\n\n") == [
        "Quarterly review",
        "Revenue grew nine percent.",
        "Mention the new office.",
    ]
    assert "Region | Target\nNorth | 120 units" in second
    assert third == "Questions welcome."
    assert_consistent(document)


def test_kinds_by_extension_and_content_type() -> None:
    assert document_kind("a.XLSX") == "xlsx"
    assert document_kind("a.pptx") == "pptx"
    assert document_kind("upload", XLSX_TYPE) == "xlsx"
    assert document_kind("upload", PPTX_TYPE) == "pptx"


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"not a zip at all", "x.xlsx", "not a valid .xlsx file"),
        (make_zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>"}), "x.pptx",
         "not a .pptx document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xlsx", "legacy Office file"),
        (make_zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<broken"}), "b.xlsx",
         ""),
    ],
)  # fmt: skip
def test_damaged_files_are_corrupt_documents(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(CorruptDocument) as caught:
        parse_document(data, name)
    assert name in caught.value.message
    assert reason in caught.value.message


def test_zip_bomb_is_refused_before_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ooxml, "MAX_OOXML_UNCOMPRESSED_BYTES", 1_000_000)
    bomb = make_zip({"[Content_Types].xml": b"<x/>", "ppt/presentation.xml": b"\0" * 2_000_000})
    with pytest.raises(DocumentTooLarge, match=r"bomb\.pptx expands to more than 0 MiB"):
        parse_document(bomb, "bomb.pptx")


def test_workbook_without_text_is_empty() -> None:
    with pytest.raises(EmptyDocument):
        parse_document(xlsx_bytes({"Sheet": [[None, ""]]}), "blank.xlsx")
