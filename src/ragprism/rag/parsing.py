"""Turn an uploaded file (txt, md, html, pdf, docx, csv) into text split into sections.

`parse_document` is the entry point. The reader is chosen by extension, then by content
type. Every failure is a domain error whose message a user can act on: the library's own
exception is chained for the logs, never shown.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import PurePosixPath

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, PageElement, PreformattedString, Tag
from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph
from pypdf import PasswordType, PdfReader

from ragprism.errors import DataError, InvalidArgument, RagprismError

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    ".csv",
    ".docx",
    ".htm",
    ".html",
    ".markdown",
    ".md",
    ".pdf",
    ".txt",
)
SECTION_SEPARATOR = "\n\n"
"""`ParsedDocument.text` is the sections' texts joined by this; chunk offsets rely on it."""

MAX_PDF_PAGES = 5000
MAX_DOCX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024

_KIND_BY_EXTENSION = {
    ".csv": "csv",
    ".docx": "docx",
    ".htm": "html",
    ".html": "html",
    ".markdown": "md",
    ".md": "md",
    ".pdf": "pdf",
    ".txt": "txt",
}
_KIND_BY_CONTENT_TYPE = {
    "application/csv": "csv",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/xhtml+xml": "html",
    "text/csv": "csv",
    "text/html": "html",
    "text/markdown": "md",
    "text/plain": "txt",
    "text/x-markdown": "md",
}
_KIND_LABELS = {
    "csv": "CSV",
    "docx": "a Word (.docx) document",
    "html": "HTML",
    "image": "an image",
    "md": "Markdown",
    "pdf": "PDF",
    "txt": "text",
}


@dataclass(frozen=True, slots=True)
class Section:
    """A run of document text and where it came from: a PDF page, the body under a heading."""

    text: str
    page: int | None = None
    heading: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """Extracted text. `text` is ``SECTION_SEPARATOR.join(s.text for s in sections)``."""

    text: str
    sections: list[Section]
    kind: str


class UnsupportedFormat(InvalidArgument):
    """The file type is not one we can read."""

    def __init__(self, filename: str, extension: str, also: tuple[str, ...] = ()) -> None:
        """``also``: more supported extensions to name (those read by other means)."""
        shown = repr(extension) if extension else "(no extension)"
        super().__init__(
            f"unsupported file type {shown} for {filename}; "
            f"supported: {', '.join((*SUPPORTED_EXTENSIONS, *also))}"
        )
        self.extension = extension


class CorruptDocument(DataError):
    """The bytes are not a readable file of the kind its name or content type claims."""

    def __init__(self, filename: str, kind: str, reason: str | None = None) -> None:
        message = f"could not read {filename} as {_KIND_LABELS.get(kind, kind)}"
        super().__init__(f"{message}: {reason}" if reason else message)
        self.kind = kind


class EncryptedDocument(CorruptDocument):
    """A password-protected PDF; we are never given the password."""

    def __init__(self, filename: str, kind: str) -> None:
        super().__init__(filename, kind, "it is password-protected")


class EmptyDocument(DataError):
    """The file was read but holds no text (an empty file, a scanned PDF without OCR)."""

    def __init__(self, filename: str) -> None:
        super().__init__(f"no text could be extracted from {filename}")


class DocumentTooLarge(InvalidArgument):
    """More pages, or more uncompressed bytes, than one document may have."""


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
                sections = _read_pdf(data, name, max_pages)
            case "docx":
                sections = _read_docx(data, name)
            case "html":
                sections = _read_html(data, charset)
            case "csv":
                sections = _read_csv(decode_text(data, charset))
            case "md":
                sections = _read_markdown(decode_text(data, charset))
            case _:
                sections = [Section(decode_text(data, charset))]
    except RagprismError:
        raise
    except Exception as exc:  # any library failure on hostile bytes is "unreadable"
        logger.info("could not parse %s as %s", name, kind, exc_info=True)
        raise CorruptDocument(name, kind) from exc
    return _assemble(sections, kind, name)


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Decode text whatever its encoding: a BOM wins, then UTF-16 without BOM (by its
    NUL pattern), UTF-8, the declared charset, cp1252, and latin-1, which never fails."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    for candidate in (_bomless_utf16(data), "utf-8", charset, "cp1252"):
        if candidate:
            try:
                return data.decode(candidate)
            except (UnicodeDecodeError, LookupError):
                continue
    return data.decode("latin-1")


def normalise_whitespace(text: str) -> str:
    """Collapse runs of spaces, keep line and paragraph breaks, drop NUL and control bytes."""
    text = _INVISIBLE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _INLINE_SPACE.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: its BOM starts the same way
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1b\x7f\u200b\ufeff]")  # \x1c-\x1f: spaces
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_BLANK_LINES = re.compile(r"\n{3,}")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def _display_name(filename: str) -> str:
    """The file's own name, without any client-side directories, bounded in length."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:200] or "the document"


def _charset(content_type: str | None) -> str | None:
    match = _CHARSET.search(content_type or "")
    return match.group(1) if match else None


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 written without a BOM shows as NULs in every other byte (for Latin text)."""
    sample = data[:4096]
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


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


class _SectionBuilder:
    """Collects text under the current heading; a new heading closes the section."""

    def __init__(self, heading: str | None = None) -> None:
        self.sections: list[Section] = []
        self.heading = heading
        self.parts: list[str] = []

    def start(self, heading: str | None) -> None:
        self.close()
        self.heading = heading

    def close(self) -> list[Section]:
        if self.parts:
            self.sections.append(Section("".join(self.parts), heading=self.heading))
            self.parts.clear()  # in place: callers may hold on to the list
        return self.sections


# --- Markdown -------------------------------------------------------------------------

_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*))?$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def _read_markdown(text: str) -> list[Section]:
    """Markdown stays as written; each ATX or setext heading starts a section."""
    builder = _SectionBuilder()
    fence: str | None = None
    paragraph_line: str | None = None  # a line that a setext underline would make a heading
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if fence is not None:  # inside a code block "# x" is a comment, not a heading
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                fence = None
            builder.parts.append(line + "\n")
            continue
        opening = _FENCE.match(line)
        atx = None if opening else _ATX_HEADING.match(line)
        if opening:
            fence = opening.group(1)
        elif atx:
            builder.start(_atx_heading_text(atx.group(1) or ""))
        elif paragraph_line is not None and _SETEXT_UNDERLINE.match(line):
            builder.parts.pop()
            builder.start(paragraph_line)
            builder.parts.append(paragraph_line + "\n")
        builder.parts.append(line + "\n")
        paragraph_line = line if line.strip() and not (opening or atx) else None
    return builder.close()


def _atx_heading_text(content: str) -> str:
    """A heading's text without its optional closing "#"s. String methods, not a regex:
    a pattern for "spaces, hashes, spaces, end" backtracks quadratically on long spaces."""
    content = content.strip()
    unclosed = content.rstrip("#")
    if unclosed != content and (not unclosed or unclosed[-1] in " \t"):
        return unclosed.strip()
    return content


# --- HTML -----------------------------------------------------------------------------

_HTML_DROPPED = frozenset({"script", "style", "nav", "noscript", "template", "title"})
_HTML_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_HTML_PARAGRAPHS = frozenset({
    "address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main",
    "ol", "p", "pre", "section", "summary", "table", "ul",
})  # fmt: skip
_HTML_LINES = frozenset({"br", "caption", "dd", "dt", "figcaption", "li", "tr"})
_HTML_CELLS = frozenset({"td", "th"})
_HTML_VERBATIM = frozenset({"pre", "textarea"})
_HTML_SPACE = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([\w.:-]+)""", re.I)


def _read_html(data: bytes, charset: str | None) -> list[Section]:
    """Visible text in document order; block elements break lines, headings start sections.

    One iterative walk over the tree, without modifying it: bs4's insert() is linear in
    the nesting depth, and recursion would overflow on deeply nested pages.
    """
    if charset is None and (declared := _META_CHARSET.search(data[:4096])):
        charset = declared.group(1).decode("ascii")
    with warnings.catch_warnings():
        # Short documents that look like a URL or an XHTML file make bs4 warn; both are fine.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(decode_text(data, charset), "html.parser")

    title = soup.find("title")
    builder = _SectionBuilder(title.get_text(" ", strip=True) if title else None)
    parts = builder.parts
    heading: tuple[Tag, int] | None = None  # the open heading, where its text begins
    verbatim = 0  # depth inside <pre>/<textarea>, where the page's own line breaks count
    rows_with_cells: set[int] = set()
    stack: list[tuple[Tag, Iterator[PageElement]]] = [(soup, iter(soup.contents))]
    while stack:
        parent, children = stack[-1]
        child = next(children, None)
        if child is None:  # leaving `parent`
            stack.pop()
            verbatim -= parent.name in _HTML_VERBATIM
            if heading is not None and heading[0] is parent:
                builder.heading = " ".join("".join(parts[heading[1] :]).split())
                heading = None
            if parent.name in _HTML_PARAGRAPHS:
                parts.append("\n\n")
        elif isinstance(child, Tag):
            if child.name in _HTML_DROPPED:
                continue
            starts_section = child.name in _HTML_HEADINGS and heading is None
            if starts_section:
                builder.start(None)
            if child.name in _HTML_PARAGRAPHS:
                parts.append("\n\n")
            elif child.name in _HTML_LINES:
                parts.append("\n")
            elif child.name in _HTML_CELLS:
                if id(parent) in rows_with_cells:
                    parts.append(" | ")
                rows_with_cells.add(id(parent))
            if starts_section:
                heading = (child, len(parts))
            verbatim += child.name in _HTML_VERBATIM
            stack.append((child, iter(child.contents)))
        elif isinstance(child, NavigableString) and not isinstance(child, PreformattedString):
            parts.append(str(child) if verbatim else _HTML_SPACE.sub(" ", child))
    return builder.close()


# --- PDF ------------------------------------------------------------------------------


def _read_pdf(data: bytes, name: str, max_pages: int) -> list[Section]:
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


# --- DOCX -----------------------------------------------------------------------------


def _read_docx(data: bytes, name: str) -> list[Section]:
    """Body paragraphs and tables in order; paragraphs styled Heading N or Title start
    sections. Table rows become "cell | cell" lines."""
    _check_docx_package(data, name)
    builder = _SectionBuilder()
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


# --- CSV ------------------------------------------------------------------------------

_CSV_SNIFF_CHARS = 4096  # Sniffer's regexes backtrack; a bounded sample bounds its time


def _read_csv(text: str) -> list[Section]:
    """The header line, then one "column: value; column: value" line per row, so a row
    retrieved on its own still says what each value means."""
    text = text.replace("\x00", "")
    sample = text[:_CSV_SNIFF_CHARS]
    if len(text) > _CSV_SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        dialect: type[csv.Dialect] = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = (row for row in csv.reader(io.StringIO(text, newline=""), dialect) if any(row))
    header = [" ".join(cell.split()) for cell in next(rows, [])]
    lines = ["; ".join(column for column in header if column)]
    for row in rows:
        pairs = [
            f"{column or f'column {number}'}: {' '.join(value.split())}"
            for number, (column, value) in enumerate(zip_longest(header, row), start=1)
            if value and not value.isspace()
        ]
        if pairs:
            lines.append("; ".join(pairs))
    return [Section("\n".join(lines))]
