"""Word (.docx): body paragraphs and tables in order; headings start sections."""

from __future__ import annotations

import io
import zipfile

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from ragprism.rag.document import CorruptDocument, DocumentTooLarge, Section, SectionBuilder

MAX_DOCX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024


def read_docx(data: bytes, name: str) -> list[Section]:
    """Body paragraphs and tables in order; paragraphs styled Heading N or Title start
    sections. Table rows become "cell | cell" lines."""
    _check_docx_package(data, name)
    builder = SectionBuilder()
    for block in Document(io.BytesIO(data)).iter_inner_content():
        if isinstance(block, Paragraph):
            style = block.style.name if block.style is not None else None
            text = block.text
            if style and (style == "Title" or style.startswith("Heading")) and text.strip():
                builder.start(text)
            builder.parts.append(text + "\n\n")
        elif isinstance(block, Table):
            builder.parts.append(_table_text(block) + "\n\n")
    return builder.close()


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office, and encrypted OOXML


def _check_docx_package(data: bytes, name: str) -> None:
    """Fail fast on bytes that are not a zip, or a zip that is not a Word package, and
    refuse archives that would expand past MAX_DOCX_UNCOMPRESSED_BYTES (zip bombs)."""
    if data.startswith(_OLE_MAGIC):
        reason = "it is a legacy .doc file or a password-protected .docx"
        raise CorruptDocument(name, "docx", reason)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise CorruptDocument(name, "docx", "it is not a valid .docx file") from exc
    names = [entry.filename for entry in entries]
    if "[Content_Types].xml" not in names or not any(n.startswith("word/") for n in names):
        raise CorruptDocument(name, "docx", "the archive is not a Word document")
    if sum(entry.file_size for entry in entries) > MAX_DOCX_UNCOMPRESSED_BYTES:
        raise DocumentTooLarge(
            f"{name} expands to more than {MAX_DOCX_UNCOMPRESSED_BYTES // 2**20} MiB"
        )


def _table_text(table: Table) -> str:
    lines = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # a merged cell is repeated once per grid column it spans
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(" ".join(cell.text.split()))
        if any(cells):
            lines.append(" | ".join(cells))
    return "\n".join(lines)
