"""Checks shared by the Office Open XML readers (.xlsx, .pptx): a zip package of the
right kind, of bounded size once expanded."""

from __future__ import annotations

import io
import zipfile

from ragprism.rag.document import CorruptDocument, DocumentTooLarge

MAX_OOXML_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office, and encrypted OOXML


def check_package(data: bytes, name: str, kind: str, part_folder: str) -> None:
    """Fail fast on bytes that are not a zip, a zip without ``part_folder`` (``xl/``,
    ``ppt/``), a legacy or encrypted file, and archives that would expand past
    MAX_OOXML_UNCOMPRESSED_BYTES (zip bombs)."""
    if data.startswith(_OLE_MAGIC):
        reason = f"it is a legacy Office file or a password-protected .{kind}"
        raise CorruptDocument(name, kind, reason)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise CorruptDocument(name, kind, f"it is not a valid .{kind} file") from exc
    names = [entry.filename for entry in entries]
    if "[Content_Types].xml" not in names or not any(n.startswith(part_folder) for n in names):
        raise CorruptDocument(name, kind, f"the archive is not a .{kind} document")
    if sum(entry.file_size for entry in entries) > MAX_OOXML_UNCOMPRESSED_BYTES:
        raise DocumentTooLarge(
            f"{name} expands to more than {MAX_OOXML_UNCOMPRESSED_BYTES // 2**20} MiB"
        )
