"""RAGFlow's knowledge blocks: rendering and parsing them back."""

from __future__ import annotations

from ragprism.llm.knowledge import (
    KnowledgeBlock,
    citation,
    format_knowledge_block,
    parse_knowledge,
)


def test_format_matches_ragflow_kb_prompt() -> None:
    block = format_knowledge_block(0, "Refunds take 14 days.", "handbook.pdf", {"Author": "HR"})
    assert block == (
        "\nID: 0\n├── Title: handbook.pdf\n├── Author: HR\n└── Content:\nRefunds take 14 days."
    )
    assert citation(3) == "[ID:3]"


def test_parse_round_trips_blocks() -> None:
    prompt = (
        "You are an assistant.\nHere is the knowledge base:\n"
        + format_knowledge_block(0, "First chunk.\nSecond line.", "a.pdf")
        + "\n\n------\n\n"
        + format_knowledge_block(1, "Another chunk.", None, {"URL": "https://example.com/x"})
        + "\nThe above is the knowledge base.\nAnswer in English."
    )
    assert parse_knowledge(prompt) == [
        KnowledgeBlock(0, "First chunk.\nSecond line.", "a.pdf"),
        KnowledgeBlock(1, "Another chunk.", None, {"URL": "https://example.com/x"}),
    ]


def test_parse_tolerates_missing_title_and_content_marker() -> None:
    prompt = "ID: 4\nPlain text without tree lines.\nID: 7\n├── Title: b.md\n└── Content: inline"
    assert parse_knowledge(prompt) == [
        KnowledgeBlock(4, "Plain text without tree lines."),
        KnowledgeBlock(7, "inline", "b.md"),
    ]


def test_no_blocks_and_empty_blocks() -> None:
    assert parse_knowledge("You are a helpful assistant.") == []
    assert parse_knowledge("ID: 0\n├── Title: empty.pdf\n└── Content:\n") == []
