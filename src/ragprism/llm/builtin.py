"""The built-in, offline models: a fresh install runs the whole pipeline with no network.

* ``HashingEmbedding``: hashed word and character n-gram features ("feature hashing"),
  L2-normalised. Texts sharing words or word stems land close together; no vocabulary,
  no download, the same vector in every process.
* ``ExtractiveChat``: answers from the knowledge blocks RAGFlow puts into the system
  prompt, quoting the most relevant sentences with ``[ID:n]`` citations.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ragprism.llm.base import (
    ChatDelta,
    ChatResult,
    ChatStream,
    EmbeddingResult,
    Message,
    Usage,
)
from ragprism.llm.knowledge import KnowledgeBlock, citation, parse_knowledge
from ragprism.llm.passages import passage_sentences
from ragprism.llm.terms import STOP_WORDS, is_cjk, stem, terms, words
from ragprism.llm.tokens import count_all, count_message_tokens, count_tokens

HASHING_MODEL = "builtin-hashing"
EXTRACTIVE_MODEL = "builtin-extractive"
DEFAULT_DIMENSION = 384
NOT_FOUND_ANSWER = "The answer you are looking for is not found in the knowledge base!"
"""RAGFlow's default prompt tells the model to say exactly this when nothing is relevant."""

_STOP_WORD_WEIGHT = 0.2
_CHAR_GRAMS = (3, 4, 5)


@lru_cache(maxsize=65536)
def _slot(feature: str, dimension: int) -> tuple[int, float]:
    # blake2b, not hash(): Python salts str hashes per process.
    value = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")
    return value % dimension, (1.0 if value >> 63 else -1.0)


def _features(content: str) -> dict[str, float]:
    features: defaultdict[str, float] = defaultdict(float)
    found = words(content)
    for word in found:
        if word in STOP_WORDS:
            features["w:" + word] += _STOP_WORD_WEIGHT
            continue
        features["w:" + stem(word)] += 1.0
        if len(word) > 1:
            padded = f"<{word}>"
            grams = [padded[i : i + n] for n in _CHAR_GRAMS for i in range(len(padded) - n + 1)]
            # Each word's n-grams together weigh about as much as the word itself.
            weight = 1.0 / math.sqrt(len(grams)) if grams else 0.0
            for gram in grams:
                features["c:" + gram] += weight
    for first, second in itertools.pairwise(found):
        if is_cjk(first) and is_cjk(second):
            features["b:" + first + second] += 1.0  # CJK words are mostly two characters
    return features


class HashingEmbedding:
    """Offline embedding model: signed feature hashing of words and character n-grams."""

    def __init__(self, dimension: int = DEFAULT_DIMENSION) -> None:
        """A model producing ``dimension``-long unit vectors."""
        if dimension < 16:
            raise ValueError("dimension must be at least 16")
        self._dimension = dimension
        self._name = (
            HASHING_MODEL if dimension == DEFAULT_DIMENSION else f"{HASHING_MODEL}-{dimension}"
        )

    @property
    def model_name(self) -> str:
        """``builtin-hashing`` (with ``-<dimension>`` unless it is the default 384)."""
        return self._name

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return self._dimension

    def vector(self, content: str) -> list[float]:
        """The unit vector of one text (blank text gets a fixed vector of its own)."""
        features = _features(content) or {"<empty>": 1.0}
        vector = np.zeros(self._dimension)
        for feature, weight in features.items():
            index, sign = _slot(feature, self._dimension)
            vector[index] += sign * (1.0 + math.log(weight) if weight > 1.0 else weight)
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:  # every feature cancelled out: astronomically rare, still a unit vector
            vector[_slot("<empty>", self._dimension)[0]] = 1.0
            norm = 1.0
        return [float(x) for x in vector / norm]

    def embed(self, texts: Sequence[str]) -> EmbeddingResult:
        """Vectors of ``texts``, with an estimated token count as usage."""
        vectors = [self.vector(item) for item in texts]
        return EmbeddingResult(vectors, Usage.of(count_all(texts), estimated=True))

    def embed_query(self, text: str) -> EmbeddingResult:
        """Queries and documents are embedded alike."""
        return self.embed([text])

    def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True)
class _Candidate:
    sentence: str
    block_id: int
    terms: Counter[str]


class ExtractiveChat:
    """Offline chat model that answers by quoting the knowledge base with citations.

    It reads the ``ID: n`` blocks of the system prompt, scores every sentence against
    the last user message with BM25 (stop words ignored, light stemming) and answers
    with the one to ``max_sentences`` best sentences, each followed by ``[ID:n]``.
    Without a relevant block it says the answer is not in the knowledge base.
    """

    def __init__(self, max_sentences: int = 3, min_coverage: float = 1 / 3) -> None:
        """``min_coverage``: share of the question's terms a sentence must contain."""
        self._max_sentences = max_sentences
        self._min_coverage = min_coverage

    @property
    def model_name(self) -> str:
        """``builtin-extractive``."""
        return EXTRACTIVE_MODEL

    def answer(self, messages: Sequence[Message]) -> str:
        """The answer text, before ``max_tokens``/``stop`` are applied."""
        question = _last_user_text(messages)
        system = "\n".join(
            _content_text(m.get("content")) for m in messages if m.get("role") == "system"
        )
        picked = self._pick(terms(question), parse_knowledge(system))
        if not picked:
            return NOT_FOUND_ANSWER
        return " ".join(f"{_as_sentence(c.sentence)} {citation(c.block_id)}" for c in picked)

    def _pick(self, question: list[str], blocks: list[KnowledgeBlock]) -> list[_Candidate]:
        wanted = set(question)
        candidates = [
            _Candidate(sentence, block.id, Counter(terms(sentence)))
            for block in blocks
            for sentence in passage_sentences(block.content)
        ]
        candidates = [c for c in candidates if c.terms]
        if not wanted or not candidates:
            return []
        scores = _bm25(wanted, [c.terms for c in candidates])
        ranked = sorted(
            (
                (score, c)
                for score, c in zip(scores, candidates, strict=True)
                if score > 0 and len(wanted & c.terms.keys()) >= self._min_coverage * len(wanted)
            ),
            key=lambda pair: -pair[0],
        )
        picked: list[_Candidate] = []
        for score, candidate in ranked:
            if len(picked) == self._max_sentences or score < 0.5 * ranked[0][0]:
                break
            if all(candidate.sentence != other.sentence for other in picked):
                picked.append(candidate)
        return picked

    def chat(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: Sequence[str] | None = None,
        **extra: Any,
    ) -> ChatResult:
        """The complete answer; sampling parameters do not apply to an extractive model."""
        answer, finish_reason = _limit(self.answer(messages), max_tokens, stop)
        usage = Usage.of(count_message_tokens(messages), count_tokens(answer), estimated=True)
        return ChatResult(answer, usage, EXTRACTIVE_MODEL, finish_reason)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        stop: Sequence[str] | None = None,
        **extra: Any,
    ) -> ChatStream:
        """The answer of ``chat()`` in word-sized pieces, then the usage."""
        result = self.chat(messages, max_tokens=max_tokens, stop=stop)
        for index, piece in enumerate(re.findall(r"\S+\s*", result.text)):
            yield ChatDelta(text=piece, first=index == 0)
        yield ChatDelta(usage=result.usage, finish_reason=result.finish_reason, model=result.model)

    def close(self) -> None:
        """Nothing to release."""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _last_user_text(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _content_text(message.get("content"))
    return ""


def _bm25(query: set[str], documents: list[Counter[str]]) -> list[float]:
    k1, b = 1.2, 0.75
    count = len(documents)
    lengths = [sum(doc.values()) for doc in documents]
    average = sum(lengths) / count
    document_frequency = Counter(term for doc in documents for term in query & doc.keys())
    idf = {
        term: math.log(1 + (count - df + 0.5) / (df + 0.5))
        for term, df in document_frequency.items()
    }
    scores: list[float] = []
    for doc, length in zip(documents, lengths, strict=True):
        score = 0.0
        for term in query & doc.keys():
            tf = doc[term]
            score += idf[term] * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average))
        scores.append(score)
    return scores


def _as_sentence(sentence: str) -> str:
    sentence = sentence.strip()
    if sentence and sentence[-1] not in ".!?。！？;；:…\"')”’":
        sentence += "."
    return sentence


def _limit(answer: str, max_tokens: int | None, stop: Sequence[str] | None) -> tuple[str, str]:
    """Apply stop sequences and a token budget as an LLM would."""
    finish_reason = "stop"
    for marker in stop or ():
        if marker and marker in answer:
            answer = answer[: answer.index(marker)]
    if max_tokens is not None and count_tokens(answer) > max_tokens:
        kept = ""
        for piece in re.findall(r"\S+\s*", answer):
            if count_tokens(kept + piece) > max_tokens:
                break
            kept += piece
        answer, finish_reason = kept.rstrip(), "length"
    return answer, finish_reason
