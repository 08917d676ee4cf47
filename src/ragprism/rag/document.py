"""What parsing produces (sections of text, the parsed document) and the ways it fails.

Every failure is a domain error whose message a user can act on.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragprism.errors import DataError, InvalidArgument

SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    ".csv",
    ".docx",
    ".htm",
    ".html",
    ".markdown",
    ".md",
    ".pdf",
    ".pptx",
    ".txt",
    ".xlsx",
)
SECTION_SEPARATOR = "\n\n"
"""`ParsedDocument.text` is the sections' texts joined by this; chunk offsets rely on it."""

_KIND_LABELS = {
    "csv": "CSV",
    "docx": "a Word (.docx) document",
    "html": "HTML",
    "image": "an image",
    "md": "Markdown",
    "pdf": "PDF",
    "pptx": "a PowerPoint (.pptx) presentation",
    "txt": "text",
    "xlsx": "an Excel (.xlsx) workbook",
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


class SectionBuilder:
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
