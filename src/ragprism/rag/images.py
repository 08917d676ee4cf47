"""Image documents: which names are images, and what their bytes really are.

An image has no text to extract; ingestion has it described by the tenant's
image-to-text model instead. The type sent to that model comes from the file's magic
bytes, not from its name: a ``.jpg`` that holds a PNG is sent as ``image/png``, and a
``.png`` that holds no image at all is refused.
"""

from __future__ import annotations

from pathlib import PurePosixPath

IMAGE_EXTENSIONS: tuple[str, ...] = (".gif", ".jpeg", ".jpg", ".png", ".webp")
IMAGE_TYPES_LABEL = "PNG, JPEG, GIF or WebP"


def is_image_name(filename: str) -> bool:
    """Whether ``filename`` has an image extension (case-insensitive)."""
    return PurePosixPath(filename.replace("\\", "/")).suffix.lower() in IMAGE_EXTENSIONS


def image_mime(data: bytes) -> str | None:
    """The MIME type that ``data``'s magic bytes announce, or None if it is none of the
    supported image formats."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
