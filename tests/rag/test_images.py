"""Image documents: names and magic bytes."""

from __future__ import annotations

import pytest

from ragprism.rag.images import image_mime, is_image_name


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\xff\xd8\xff\xdb\x00C", "image/jpeg"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x1a\x00\x00\x00WEBPVP8L", "image/webp"),
        (b"RIFF\x1a\x00\x00\x00WAVEfmt ", None),  # RIFF, but audio
        (b"RIFF\x1a\x00\x00", None),  # too short to say
        (b"\x89PNG", None),  # a truncated signature
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_magic_bytes_decide_the_type(data: bytes, mime: str | None) -> None:
    assert image_mime(data) == mime


@pytest.mark.parametrize(
    ("name", "image"),
    [
        ("a.png", True),
        ("A.JPG", True),
        ("dir\\b.jpeg", True),
        ("c.gif", True),
        ("d.webp", True),
        ("e.bmp", False),
        ("png", False),
        ("f.png.txt", False),
    ],
)
def test_image_names(name: str, image: bool) -> None:
    assert is_image_name(name) is image
