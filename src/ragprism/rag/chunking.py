"""Split parsed sections into retrieval chunks: RAGFlow's "naive" merge, with exact budgets.

Each section's text is cut into pieces after every delimiter and after sentence ends
(". "); consecutive pieces are merged greedily while they fit in `chunk_token_num`
tokens; a piece longer than that is split between words. A chunk never spans two
sections, so its page and heading are exact.

All work is done on token positions, and every cut falls between two tokens, so token
counts add up exactly: a chunk's `token_count` is `_count_tokens(chunk.text)`.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from ragprism.errors import InvalidArgument
from ragprism.rag.parsing import SECTION_SEPARATOR, Section

DEFAULT_DELIMITER = "\n!?。；！？"
MAX_CHUNK_TOKEN_NUM = 8192
MAX_OVERLAPPED_PERCENT = 0.9

# Han, kana, Hangul: one token per character, as tokenizers roughly do for them.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
# A CJK character; a run of other word characters (at most 24, so a pasted blob is not
# "one token"); a run of one repeated punctuation mark ("...", "----", at most 16).
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]{{1,24}}|([^\w\s])\1{{0,15}}")


def _count_tokens(text: str) -> int:
    """A deterministic approximation of a model tokenizer: words, numbers, punctuation
    runs and single CJK characters each count one. Whitespace counts nothing."""
    return sum(1 for _ in _TOKEN.finditer(text))


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a document to embed and retrieve.

    `start`/`end` are character offsets of `text` in the document text, i.e. in
    ``SECTION_SEPARATOR.join(s.text for s in sections)`` (which is `ParsedDocument.text`
    for a parsed document): ``document_text[start:end] == text`` always holds.
    `overlap` is how many leading characters of `text` repeat the previous chunk;
    ``text[overlap:]`` is the chunk's own content (without leading whitespace).
    """

    text: str
    index: int
    token_count: int
    page: int | None
    heading: str | None
    start: int
    end: int
    overlap: int = 0


def chunk_text(
    sections: Sequence[Section],
    *,
    chunk_token_num: int = 512,
    delimiter: str = DEFAULT_DELIMITER,
    overlapped_percent: float = 0.0,
) -> list[Chunk]:
    """Chunk sections in order; chunk `index` counts from 0 across the whole document.

    `delimiter` is a set of characters to cut after; a multi-character delimiter is
    written between backticks, as in RAGFlow (``"\\n`##`"``). `overlapped_percent` is
    a fraction (0 to 0.9), not RAGFlow's 0-100 percentage.

    Guarantees: no chunk is empty or whitespace only; a chunk starts and ends on a token,
    never on whitespace; the chunks' own contents (``text[overlap:]``) hold every token of
    every section exactly once, in order. Own content is at most `chunk_token_num`
    tokens. With overlap, a chunk after the first of its section also starts with the
    last ``floor(overlapped_percent * n)`` tokens of the previous chunk's own content (n
    tokens), and the text between; so `token_count` is at most
    ``chunk_token_num + floor(overlapped_percent * chunk_token_num)``. The first chunk
    of a section never carries overlap: the text before it belongs to another page or
    heading.
    """
    _validate(chunk_token_num, overlapped_percent)
    boundaries = _boundary_pattern(delimiter)
    chunks: list[Chunk] = []
    offset = 0
    for section in sections:
        for span in _section_spans(section.text, chunk_token_num, boundaries, overlapped_percent):
            chunks.append(
                Chunk(
                    text=section.text[span.start : span.end],
                    index=len(chunks),
                    token_count=span.own_tokens + span.carried_tokens,
                    page=section.page,
                    heading=section.heading,
                    start=offset + span.start,
                    end=offset + span.end,
                    overlap=span.own_start - span.start,
                )
            )
        offset += len(section.text) + len(SECTION_SEPARATOR)
    return chunks


def _validate(chunk_token_num: int, overlapped_percent: float) -> None:
    if (
        isinstance(chunk_token_num, bool)
        or not isinstance(chunk_token_num, int)
        or not 1 <= chunk_token_num <= MAX_CHUNK_TOKEN_NUM
    ):
        raise InvalidArgument(
            f"chunk_token_num must be an integer from 1 to {MAX_CHUNK_TOKEN_NUM}, "
            f"got {chunk_token_num!r}"
        )
    if (
        isinstance(overlapped_percent, bool)
        or not isinstance(overlapped_percent, int | float)
        or not 0.0 <= overlapped_percent <= MAX_OVERLAPPED_PERCENT  # also rejects NaN
    ):
        raise InvalidArgument(
            f"overlapped_percent must be a fraction from 0 to {MAX_OVERLAPPED_PERCENT}, "
            f"got {overlapped_percent!r}"
        )


@lru_cache(maxsize=32)
def _boundary_pattern(delimiter: str) -> re.Pattern[str]:
    """Matches whose end is a preferred cut: a delimiter, or a full stop before a space."""
    quoted = re.findall(r"`([^`]+)`", delimiter)
    singles = re.sub(r"`[^`]+`", "", delimiter)
    delimiters = sorted({*quoted, *singles}, key=len, reverse=True)
    return re.compile("|".join([*map(re.escape, delimiters), r"\.(?=\s)"]))


class _Span(NamedTuple):
    start: int  # where the overlap begins, or own_start
    own_start: int
    end: int
    own_tokens: int
    carried_tokens: int


def _section_spans(
    text: str, budget: int, boundaries: re.Pattern[str], overlap_fraction: float
) -> list[_Span]:
    """Where each chunk of one section's text starts and ends."""
    starts: list[int] = []
    ends: list[int] = []
    for match in _TOKEN.finditer(text):
        starts.append(match.start())
        ends.append(match.end())
    total = len(starts)

    # Token indices k where a cut before token k falls after a delimiter. A delimiter
    # inside a token (one "!" of "!!!") is not a place to cut.
    breaks: list[int] = []
    for match in boundaries.finditer(text):
        k = bisect_left(starts, match.end())
        if 0 < k < total and ends[k - 1] <= match.end() and (not breaks or breaks[-1] < k):
            breaks.append(k)

    spans: list[_Span] = []
    first = 0  # token index where the current chunk's own content begins
    while first < total:
        last = _cut(first, first + budget, total, breaks, starts, ends)
        carried = 0
        if spans:
            carried = math.floor(overlap_fraction * spans[-1].own_tokens + 1e-9)
        spans.append(
            _Span(starts[first - carried], starts[first], ends[last - 1], last - first, carried)
        )
        first = last
    return spans


def _cut(
    first: int, limit: int, total: int, breaks: list[int], starts: list[int], ends: list[int]
) -> int:
    """The token index to end a chunk that begins at token `first`: the furthest
    delimiter within budget, else the furthest space within budget, else the budget."""
    if limit >= total:
        return total
    b = bisect_right(breaks, limit) - 1
    if b >= 0 and breaks[b] > first:
        return breaks[b]
    for k in range(limit, first, -1):  # the next piece alone is over budget
        if starts[k] > ends[k - 1]:
            return k
    return limit
