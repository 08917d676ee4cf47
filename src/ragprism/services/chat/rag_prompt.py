"""How RAGFlow words a RAG prompt and reads the answer back.

The retrieved chunks become the ``{knowledge}`` variable of the system prompt, rendered as
RAGFlow's ``kb_prompt`` does; quotes add the citation instructions; the answer's
citations are repaired into ``[ID:n]`` form (or removed without quotes) and decide
which documents the reference lists.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ragprism.errors import DataError
from ragprism.llm import Message, count_message_tokens, count_tokens
from ragprism.llm.knowledge import format_knowledge_block

MAX_HISTORY_MESSAGES = 20
HISTORY_TOKEN_BUDGET = 6000
KNOWLEDGE_TOKEN_BUDGET = 6000
CITATION_PROMPT = (
    "\n\n------\n"
    "Citations: after each sentence that uses the knowledge base, add the marker of the "
    "piece it comes from, written exactly like [ID:0] (at most four markers per "
    "sentence). Only cite IDs that appear above; add no markers when nothing in the "
    "knowledge base is relevant."
)
_CITATION_VARIANTS = re.compile(
    r"##(\d+)\$\$|\[\s*ID\s*[:：]\s*(\d+)\s*\]|【\s*ID\s*[:：]\s*(\d+)\s*】|\(\s*ID\s*[:：]\s*(\d+)\s*\)",
    re.IGNORECASE,
)
_CITATION = re.compile(r"\[ID:(\d+)\]")


def reference_chunk(chunk: dict[str, Any]) -> dict[str, Any]:
    """A retrieved chunk in the shape of a completion's reference (RAGFlow's chunks_format)."""
    return {
        "id": chunk["id"],
        "content": chunk["content"],
        "document_id": chunk["document_id"],
        "document_name": chunk.get("document_keyword", ""),
        "dataset_id": chunk["dataset_id"],
        "image_id": chunk.get("image_id", ""),
        "positions": chunk.get("positions", []),
        "url": None,
        "similarity": chunk.get("similarity", 0.0),
        "vector_similarity": chunk.get("vector_similarity", 0.0),
        "term_similarity": chunk.get("term_similarity", 0.0),
        "doc_type": "",
    }


def knowledge_text(chunks: Sequence[dict[str, Any]]) -> str:
    """The ``{knowledge}`` value: the chunks as RAGFlow's kb_prompt renders them."""
    blocks = [
        format_knowledge_block(i, c["content"], c.get("document_name") or None)
        for i, c in enumerate(chunks)
    ]
    return "\n------\n" + "\n\n------\n\n".join(blocks) if blocks else ""


def within_budget(chunks: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    used = 0
    for chunk in chunks:
        used += count_tokens(chunk["content"])
        if kept and used > budget:
            break
        kept.append(chunk)
    return kept


def system_prompt(
    system: str, parameters: Sequence[dict[str, Any]], knowledge: str, quote: bool
) -> str:
    """The system prompt with its variables filled in (``{knowledge}``; others empty)."""
    for parameter in parameters:
        key = str(parameter.get("key", ""))
        system = system.replace("{" + key + "}", knowledge if key == "knowledge" else "")
    if knowledge and quote:
        system += CITATION_PROMPT
    return system


def bounded_history(history: Sequence[Message]) -> list[dict[str, Any]]:
    """The latest user/assistant turns within the budget, without leading assistant turns
    (the opener is not part of the conversation the model sees)."""
    turns = [
        {"role": m["role"], "content": _CITATION_VARIANTS.sub("", str(m.get("content") or ""))}
        for m in history
        if m.get("role") in ("user", "assistant")
    ][-MAX_HISTORY_MESSAGES:]
    while turns and count_message_tokens(turns) > HISTORY_TOKEN_BUDGET:
        turns.pop(0)
    while turns and turns[0]["role"] == "assistant":
        turns.pop(0)
    return turns


def repair_citations(text: str, chunk_count: int, quote: bool) -> str:
    """Citations as ``[ID:n]`` (RAGFlow's older ``##n$$`` and loose variants included);
    markers of chunks that do not exist, or all of them without quotes, removed."""

    def normalise(match: re.Match[str]) -> str:
        number = int(next(g for g in match.groups() if g is not None))
        return f"[ID:{number}]" if quote and number < chunk_count else ""

    return _CITATION_VARIANTS.sub(normalise, text)


def cited_indices(text: str) -> set[int]:
    """The chunk numbers an answer (citations repaired) cites with ``[ID:n]``."""
    return {int(n) for n in _CITATION.findall(text)}


def build_reference(
    text: str, chunks: Sequence[dict[str, Any]], doc_aggs: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The answer's reference: the chunks, and the documents it cites (all when none)."""
    cited_docs = {chunks[int(n)]["document_id"] for n in _CITATION.findall(text)}
    listed = [d for d in doc_aggs if d["doc_id"] in cited_docs] or list(doc_aggs)
    chunk_docs = {c["document_id"] for c in chunks}
    listed = [d for d in listed if d["doc_id"] in chunk_docs]
    return {"total": len(chunks), "chunks": list(chunks), "doc_aggs": listed}


def last_user_question(messages: Sequence[Message]) -> tuple[str, list[Message]]:
    """The last message's text (it must be the user's) and the messages before it."""
    if not messages or messages[-1].get("role") != "user":
        raise DataError("The last content of this conversation is not from user.")
    content = messages[-1].get("content")
    if isinstance(content, list):
        content = " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    question = str(content or "").strip()
    if not question:
        raise DataError("Please input your question.")
    return question, list(messages[:-1])
