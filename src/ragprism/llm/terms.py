"""Words that carry meaning: the text analysis shared by the built-in models.

Lowercased words without stop words, lightly stemmed ("refunds", "refunded" and
"refunding" all become "refund"), and sentence splitting that understands both
Western and CJK punctuation. Deterministic and dependency free.
"""

from __future__ import annotations

import re
import unicodedata

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing done down during
    each few for from further get gets got had has have having he her here hers herself
    him himself his how i if in into is it its itself just me more most my myself no nor
    not now of off on once only or other our ours ourselves out over own please same she
    should so some such tell than that the their theirs them themselves then there these
    they this those through to too under until up us very was we were what when where
    which while who whom why will with would you your yours yourself yourselves
    """.split()  # noqa: SIM905 - a word list reads best as text
)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_CHAR = re.compile(rf"[{_CJK}]")
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|(?<=[。！？；])|\n+")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s+")


def normalise(text: str) -> str:
    """NFKC-normalised, lowercased text (full-width forms and ligatures unified)."""
    return unicodedata.normalize("NFKC", text).lower()


def is_cjk(char: str) -> bool:
    """Whether ``char`` is a CJK ideograph, kana or hangul syllable."""
    return bool(_CJK_CHAR.fullmatch(char))


def words(text: str) -> list[str]:
    """Lowercased words of ``text``; each CJK character is a word of its own."""
    return _WORD.findall(normalise(text))


def stem(word: str) -> str:
    """A light English suffix stripper: plural, -ed and -ing forms share one stem."""
    if len(word) <= 3 or not word.isascii():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if word.endswith("ing") and len(word) > 5:
        return _undouble(word[:-3])
    if word.endswith("ed") and len(word) > 4:
        return _undouble(word[:-2])
    return word


def _undouble(root: str) -> str:
    # "stopped" -> "stopp" -> "stop"; "shipping" -> "shipp" -> "ship"
    if len(root) > 2 and root[-1] == root[-2] and root[-1] not in "lsz":
        return root[:-1]
    return root


def terms(text: str) -> list[str]:
    """Stemmed words of ``text`` without stop words, in order (repeats kept)."""
    return [stem(word) for word in words(text) if word not in STOP_WORDS]


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, whitespace collapsed, bullets removed, blanks dropped."""
    found: list[str] = []
    for raw in _SENTENCE_END.split(text):
        sentence = " ".join(_BULLET.sub("", raw).split())
        if sentence:
            found.append(sentence)
    return found
