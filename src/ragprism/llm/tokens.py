"""Offline token counting: a deterministic approximation of BPE tokenizers.

Real tokenizers (tiktoken and friends) download their vocabularies, which a fresh,
offline install cannot do. This counts what such tokenizers roughly count: every word,
number, punctuation mark and CJK character is about one token; long words and numbers
split into several (about four letters, three digits per token). Counts made here are
reported with ``estimated=True``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from ragprism.llm.base import Message

# CJK ideographs, kana and hangul: one token per character.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]+|\d+|[^\w\s]", re.UNICODE)

_SHORT_WORD = 6
"""Words up to this many characters are usually a single token."""
_CHARS_PER_TOKEN = 4
_DIGITS_PER_TOKEN = 3
MESSAGE_OVERHEAD = 4
"""Tokens OpenAI-style chat formats add around each message (role, separators)."""
REPLY_PRIMING = 3
"""Tokens that prime the assistant's reply."""
IMAGE_TOKENS = 85
"""A low-detail image part, as OpenAI bills it."""


def pieces(text: str) -> list[str]:
    """The word, number, punctuation and CJK-character pieces of ``text``."""
    return _TOKEN.findall(text)


def _piece_tokens(piece: str) -> int:
    if piece.isdigit():
        return math.ceil(len(piece) / _DIGITS_PER_TOKEN)
    if len(piece) <= _SHORT_WORD:
        return 1
    return math.ceil(len(piece) / _CHARS_PER_TOKEN)


def count_tokens(text: str) -> int:
    """Approximate number of tokens in ``text`` (0 for blank text)."""
    return sum(_piece_tokens(piece) for piece in _TOKEN.findall(text))


def count_all(texts: Iterable[str]) -> int:
    """Approximate number of tokens in all of ``texts``."""
    return sum(count_tokens(text) for text in texts)


def count_message_tokens(messages: Iterable[Message]) -> int:
    """Approximate prompt tokens of chat ``messages``, text and image parts included."""
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD + count_tokens(str(message.get("role", "")))
        content = message.get("content")
        if isinstance(content, str):
            total += count_tokens(content)
        elif isinstance(content, list):
            for part in content:
                if not isinstance(part, dict):
                    continue
                if part.get("type") == "text":
                    total += count_tokens(str(part.get("text", "")))
                elif part.get("type") in ("image_url", "input_image", "image"):
                    total += IMAGE_TOKENS
    return total + REPLY_PRIMING
