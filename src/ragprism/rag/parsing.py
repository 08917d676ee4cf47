"""Turn an uploaded file (txt, md, html, pdf, docx, csv, xlsx, pptx) into text split into sections.

`parse_document` is the entry point. The reader is chosen by extension, then by content
type. Every failure is a domain error whose message a user can act on: the library's own
exception is chained for the logs, never shown.
"""

from __future__ import annotations

import logging
import re
from pathlib import PurePosixPath

from ragprism.errors import RagprismError
from ragprism.rag.document import (
    SECTION_SEPARATOR,
    SUPPORTED_EXTENSIONS,
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    ParsedDocument,
    Section,
    UnsupportedFormat,
)
from ragprism.rag.readers.delimited import read_csv
from ragprism.rag.readers.html import read_html
from ragprism.rag.readers.markdown import read_markdown
from ragprism.rag.readers.pdf import MAX_PDF_PAGES, read_pdf
from ragprism.rag.readers.slides import read_pptx
from ragprism.rag.readers.spreadsheet import read_xlsx
from ragprism.rag.readers.word import MAX_DOCX_UNCOMPRESSED_BYTES, read_docx
from ragprism.rag.text import decode_text, normalise_whitespace

__all__ = [
    "MAX_DOCX_UNCOMPRESSED_BYTES",
    "MAX_PDF_PAGES",
    "SECTION_SEPARATOR",
    "SUPPORTED_EXTENSIONS",
    "CorruptDocument",
    "DocumentTooLarge",
    "EmptyDocument",
    "EncryptedDocument",
    "ParsedDocument",
    "Section",
    "UnsupportedFormat",
    "decode_text",
    "document_kind",
    "normalise_whitespace",
    "parse_document",
]

logger = logging.getLogger(__name__)

_KIND_BY_EXTENSION = {
    ".csv": "csv",
    ".docx": "docx",
    ".htm": "html",
    ".html": "html",
    ".markdown": "md",
    ".md": "md",
    ".pdf": "pdf",
    ".pptx": "pptx",
    ".txt": "txt",
    ".xlsx": "xlsx",
}
_KIND_BY_CONTENT_TYPE = {
    "application/csv": "csv",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/xhtml+xml": "html",
    "text/csv": "csv",
    "text/html": "html",
    "text/markdown": "md",
    "text/plain": "txt",
    "text/x-markdown": "md",
}
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def document_kind(filename: str, content_type: str | None = None) -> str:
    """The reader for a file: its extension if we know it, else its content type."""
    name = _display_name(filename)
    extension = PurePosixPath(name).suffix.lower()
    kind = _KIND_BY_EXTENSION.get(extension)
    if kind is None and content_type:
        kind = _KIND_BY_CONTENT_TYPE.get(content_type.partition(";")[0].strip().lower())
    if kind is None:
        raise UnsupportedFormat(name, extension)
    return kind


def parse_document(
    data: bytes,
    filename: str,
    content_type: str | None = None,
    *,
    max_pages: int = MAX_PDF_PAGES,
) -> ParsedDocument:
    """Extract a document's text as sections with page numbers (PDF) or headings.

    Raises UnsupportedFormat, CorruptDocument (EncryptedDocument for a locked PDF),
    EmptyDocument, or DocumentTooLarge for a PDF over `max_pages` pages or a .docx that
    expands past MAX_DOCX_UNCOMPRESSED_BYTES.
    """
    name = _display_name(filename)
    kind = document_kind(filename, content_type)
    if not data or data.isspace():
        raise EmptyDocument(name)
    charset = _charset(content_type)
    try:
        match kind:
            case "pdf":
                sections = read_pdf(data, name, max_pages)
            case "docx":
                sections = read_docx(data, name)
            case "xlsx":
                sections = read_xlsx(data, name)
            case "pptx":
                sections = read_pptx(data, name)
            case "html":
                sections = read_html(data, charset)
            case "csv":
                sections = read_csv(decode_text(data, charset))
            case "md":
                sections = read_markdown(decode_text(data, charset))
            case _:
                sections = [Section(decode_text(data, charset))]
    except RagprismError:
        raise
    except Exception as exc:  # any library failure on hostile bytes is "unreadable"
        logger.info("could not parse %s as %s", name, kind, exc_info=True)
        raise CorruptDocument(name, kind) from exc
    return _assemble(sections, kind, name)


def _display_name(filename: str) -> str:
    """The file's own name, without any client-side directories, bounded in length."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:200] or "the document"


def _charset(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _assemble(sections: list[Section], kind: str, name: str) -> ParsedDocument:
    kept = []
    for section in sections:
        text = normalise_whitespace(section.text)
        if text:
            heading = " ".join(section.heading.split())[:200] if section.heading else None
            kept.append(Section(text, section.page, heading or None))
    if not kept:
        raise EmptyDocument(name)
    return ParsedDocument(SECTION_SEPARATOR.join(s.text for s in kept), kept, kind)
