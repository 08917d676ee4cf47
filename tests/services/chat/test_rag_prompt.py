"""The RAG prompt and citation handling, without a database."""

from __future__ import annotations

from typing import Any

import pytest

from ragprism.errors import DataError
from ragprism.llm import ExtractiveChat, parse_knowledge
from ragprism.services.chat.rag_prompt import (
    CITATION_PROMPT,
    bounded_history,
    build_reference,
    knowledge_text,
    last_user_question,
    repair_citations,
    system_prompt,
)


def _chunk(index: int, document: str, content: str) -> dict[str, Any]:
    return {
        "id": f"c{index}",
        "content": content,
        "document_id": document,
        "document_name": f"{document}.txt",
        "dataset_id": "d",
    }


CHUNKS = [
    _chunk(0, "a", "Employees receive 25 days of paid vacation per year."),
    _chunk(1, "b", "The coffee machine is cleaned every Friday."),
]
DOC_AGGS = [
    {"doc_name": "a.txt", "doc_id": "a", "count": 1},
    {"doc_name": "b.txt", "doc_id": "b", "count": 1},
]


def test_knowledge_renders_ragflow_blocks_that_read_back() -> None:
    system = system_prompt(
        "Answer from:\n{knowledge}\nThe above is the knowledge base.",
        [{"key": "knowledge", "optional": False}],
        knowledge_text(CHUNKS),
        quote=True,
    )
    blocks = parse_knowledge(system)
    assert [(b.id, b.title, b.content) for b in blocks] == [
        (0, "a.txt", CHUNKS[0]["content"]),
        (1, "b.txt", CHUNKS[1]["content"]),
    ]
    assert system.endswith(CITATION_PROMPT)
    answer = ExtractiveChat().answer(
        [
            {"role": "system", "content": system},
            {"role": "user", "content": "When is the coffee machine cleaned?"},
        ]
    )
    assert answer.endswith("[ID:1]")


def test_no_citation_prompt_without_quotes_or_knowledge() -> None:
    parameters = [{"key": "knowledge", "optional": True}, {"key": "style", "optional": True}]
    assert system_prompt("K: {knowledge} S: {style}", parameters, "", quote=True) == "K:  S: "
    text = system_prompt("{knowledge}", parameters, knowledge_text(CHUNKS), quote=False)
    assert CITATION_PROMPT not in text


@pytest.mark.parametrize(
    ("raw", "quote", "expected"),
    [
        ("Yes ##0$$.", True, "Yes [ID:0]."),
        ("Yes [ID: 1] and (ID:0) and 【ID:1】.", True, "Yes [ID:1] and [ID:0] and [ID:1]."),
        ("Made up [ID:7].", True, "Made up ."),
        ("Plain [ID:0].", False, "Plain ."),
    ],
)
def test_citations_are_repaired(raw: str, quote: bool, expected: str) -> None:
    assert repair_citations(raw, len(CHUNKS), quote) == expected


def test_reference_lists_the_cited_documents() -> None:
    cited = build_reference("Friday [ID:1].", CHUNKS, DOC_AGGS)
    assert cited["doc_aggs"] == [DOC_AGGS[1]]
    assert cited["total"] == 2
    assert cited["chunks"] == CHUNKS
    assert build_reference("No citation.", CHUNKS, DOC_AGGS)["doc_aggs"] == DOC_AGGS


def test_history_is_bounded_and_starts_with_the_user() -> None:
    history = [{"role": "assistant", "content": "Hi! ##0$$"}]
    history += [
        {"role": r, "content": f"turn {i}"} for i in range(30) for r in ("user", "assistant")
    ]
    bounded = bounded_history(history)
    assert len(bounded) <= 20
    assert bounded[0]["role"] == "user"
    assert bounded[-1] == {"role": "assistant", "content": "turn 29"}
    assert bounded_history([{"role": "assistant", "content": "opener"}]) == []


def test_last_user_question() -> None:
    question, history = last_user_question(
        [
            {"role": "assistant", "content": "Hi"},
            {"role": "user", "content": [{"type": "text", "text": "What?"}]},
        ]
    )
    assert question == "What?"
    assert history == [{"role": "assistant", "content": "Hi"}]
    with pytest.raises(DataError, match="not from user"):
        last_user_question([{"role": "assistant", "content": "Hi"}])
    with pytest.raises(DataError, match="question"):
        last_user_question([{"role": "user", "content": "  "}])
