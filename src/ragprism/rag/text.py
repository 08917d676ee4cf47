"""Decoding bytes of unknown encoding, and whitespace normalisation of extracted text."""

from __future__ import annotations

import codecs
import re


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
