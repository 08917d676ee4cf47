"""PDF: one section per page."""

from __future__ import annotations

import io
import logging

from pypdf import PasswordType, PdfReader

from ragprism.rag.document import CorruptDocument, DocumentTooLarge, EncryptedDocument, Section

logger = logging.getLogger(__name__)

MAX_PDF_PAGES = 5000


def read_pdf(data: bytes, name: str, max_pages: int) -> list[Section]:
    """One section per page, numbered from 1. A page that fails is skipped and logged."""
    reader = PdfReader(io.BytesIO(data), strict=False)
    if reader.is_encrypted:
        try:  # many "encrypted" PDFs only restrict printing and open with an empty password
            unlocked = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except Exception:
            unlocked = False
        if not unlocked:
            raise EncryptedDocument(name, "pdf")
    page_count = len(reader.pages)
    if page_count > max_pages:
        raise DocumentTooLarge(f"{name} has {page_count} pages; at most {max_pages} can be parsed")
    sections = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text()
        except Exception:
            logger.warning("skipped page %d of %s: text extraction failed", number, name)
            continue
        sections.append(Section(text, page=number))
    if page_count and not sections:
        raise CorruptDocument(name, "pdf", "no page could be read")
    return sections
