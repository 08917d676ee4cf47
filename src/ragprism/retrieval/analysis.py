"""Text analysis for full-text search, done in Python so every backend indexes alike.

Chunks are stored with their text already analysed (``chunk.content_tokens``,
``chunk.keyword_tokens``: space-separated terms) and each backend's full-text engine
only splits on spaces: SQLite FTS5, a PostgreSQL ``tsvector`` with the ``simple``
configuration, and the LIKE matching of the MariaDB store. That gives one behaviour
everywhere, including for Chinese and Japanese, which have no spaces between words and
which neither FTS5's ``unicode61`` nor PostgreSQL's parsers split:

* text is NFKC-normalised and case-folded;
* Latin-script (and any other spaced) words are lightly stemmed (``refunds``,
  ``refunded``, ``refunding`` → ``refund``);
* a run of CJK characters is indexed as its single characters and its overlapping
  character pairs; a question is searched by its pairs, so ``数据库`` finds
  ``数据库系统`` through ``数据`` and ``据库``.

The stored text depends on this module: changing the analysis needs a re-index, hence
``ANALYZER_VERSION``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache

from ragprism.llm.terms import stem as _stem

ANALYZER_VERSION = 1

MAX_QUERY_TERMS = 32
_MAX_TERM_LENGTH = 64

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ebef"
# Group 1: a run of CJK characters; group 2: any other word.
_WORD = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_ANY_CJK = re.compile(rf"[{_CJK}]")
_PLAIN_WORD = re.compile(r"[^\W_]+")

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during
    each few for from further had has have having he her here hers him his how i if in
    into is it its itself just me more most my no nor not now of off on once only or other
    our out over own same she should so some such than that the their them then there
    these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your
    """.split()  # noqa: SIM905 - a word list reads best as text
)


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


# The extractive answerer and the index must stem alike; the cache pays off on indexing.
stem = lru_cache(maxsize=1 << 16)(_stem)


def _pairs(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)] or [run]


def index_terms(text: str) -> list[str]:
    """The terms ``text`` is indexed under, in order, repeats kept (they count in BM25)."""
    normal = _normalise(text)
    if not _ANY_CJK.search(normal):  # the common case, made fast
        return [stem(word[:_MAX_TERM_LENGTH]) for word in _PLAIN_WORD.findall(normal)]
    terms: list[str] = []
    for run, word in _WORD.findall(normal):
        if run:
            terms.extend(run)
            if len(run) > 1:
                terms.extend(_pairs(run))
        else:
            terms.append(stem(word[:_MAX_TERM_LENGTH]))
    return terms


def index_text(texts: str | Iterable[str]) -> str:
    """Analysed text as stored for the search indexes: terms separated by spaces."""
    if isinstance(texts, str):
        return " ".join(index_terms(texts))
    return " ".join(term for text in texts for term in index_terms(text))


def query_terms(question: str) -> list[str]:
    """The distinct terms a question is searched by, at most ``MAX_QUERY_TERMS``.

    Stop words are left out, even when nothing else is left: they are in nearly every
    chunk, so matching them costs a scan of the index and tells the chunks apart by
    nothing. Such a question is searched by its vector alone.
    """
    found: list[str] = []
    for run, word in _WORD.findall(_normalise(question)):
        if run:
            found.extend(_pairs(run))
        elif word not in STOP_WORDS:
            found.append(stem(word[:_MAX_TERM_LENGTH]))
    return _distinct(found)[:MAX_QUERY_TERMS]


def _distinct(terms: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(terms))
