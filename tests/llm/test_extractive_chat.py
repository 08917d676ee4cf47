"""The built-in extractive chat model over RAGFlow-style prompts."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ragprism.llm import NOT_FOUND_ANSWER, ChatModel, ExtractiveChat, format_knowledge_block

BLOCKS = [
    (
        "handbook.pdf",
        "Employees get 25 vacation days per year. Unused vacation days expire in March. "
        "Requests go through the HR portal.",
    ),
    (
        "returns.md",
        "Customers can request a refund within 14 days of delivery. Refunds are paid to the "
        "original payment method. Opened software cannot be returned.",
    ),
    (
        None,
        "The office cat is called Miso. Miso sleeps on the windowsill most afternoons.",
    ),
]
CITED = re.compile(r"(.+?) \[ID:(\d+)\]\s*")


def system_prompt(blocks: list[tuple[str | None, str]] = BLOCKS) -> str:
    """The system message as RAGFlow's default assistant builds it."""
    knowledge = "\n\n------\n\n".join(
        format_knowledge_block(i, content, title) for i, (title, content) in enumerate(blocks)
    )
    return (
        "You are an intelligent assistant. Please summarize the content of the knowledge "
        "base to answer the question. When all knowledge base content is irrelevant to the "
        'question, your answer must include the sentence "The answer you are looking for is '
        'not found in the knowledge base!"\nHere is the knowledge base:\n'
        f"------\n{knowledge}\nThe above is the knowledge base."
    )


def messages(question: str, system: str | None = None) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": system if system is not None else system_prompt()},
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": question},
    ]


def cited_sentences(answer: str) -> list[tuple[str, int]]:
    found = [(sentence, int(block)) for sentence, block in CITED.findall(answer)]
    assert "".join(f"{s} [ID:{b}]" for s, b in found).replace(" ", "") == answer.replace(" ", "")
    return found


def test_is_a_chat_model() -> None:
    model: ChatModel = ExtractiveChat()  # checked by mypy
    assert model.model_name == "builtin-extractive"


@pytest.mark.parametrize(
    ("question", "block"),
    [
        ("How many days do I have to request a refund?", 1),
        ("How many vacation days do employees get?", 0),
        ("Where does the cat sleep?", 2),
    ],
)
def test_citations_point_to_the_block_each_sentence_comes_from(question: str, block: int) -> None:
    result = ExtractiveChat().chat(messages(question))
    cited = cited_sentences(result.text)
    assert 1 <= len(cited) <= 3
    assert cited[0][1] == block  # the best sentence comes from the right block
    for sentence, source in cited:
        assert sentence.rstrip(".") in BLOCKS[source][1]
    assert result.finish_reason == "stop"
    assert result.model == "builtin-extractive"


def test_answers_that_it_does_not_know_without_knowledge() -> None:
    for system in ("You are a helpful assistant.", ""):
        result = ExtractiveChat().chat(messages("How many vacation days do I get?", system))
        assert result.text == NOT_FOUND_ANSWER
    assert ExtractiveChat().chat([{"role": "user", "content": "Hi"}]).text == NOT_FOUND_ANSWER


def test_answers_that_it_does_not_know_when_nothing_is_relevant() -> None:
    result = ExtractiveChat().chat(messages("What is the capital of Australia?"))
    assert result.text == NOT_FOUND_ANSWER
    assert "[ID:" not in result.text


def test_the_trailer_of_the_prompt_is_not_knowledge() -> None:
    result = ExtractiveChat().chat(messages("Which knowledge base is above?"))
    assert "The above is the knowledge base" not in result.text


def test_usage_is_honest_and_estimated() -> None:
    model = ExtractiveChat()
    long_prompt = model.chat(messages("When do unused vacation days expire?"))
    short_prompt = model.chat(
        messages("When do unused vacation days expire?", system_prompt(BLOCKS[:1]))
    )
    usage = long_prompt.usage
    assert usage.estimated
    assert usage.input_tokens > 50
    assert usage.output_tokens > 5
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert short_prompt.usage.input_tokens < usage.input_tokens
    assert short_prompt.text == long_prompt.text


def test_stream_pieces_join_to_the_blocking_answer() -> None:
    model = ExtractiveChat()
    question = messages("How many days do I have to request a refund?")
    blocking = model.chat(question)
    deltas = list(model.stream(question))
    *pieces, final = deltas
    assert "".join(d.text for d in pieces) == blocking.text
    assert len(pieces) == len(blocking.text.split())
    assert [d.first for d in pieces] == [True] + [False] * (len(pieces) - 1)
    assert final.final
    assert final.text == ""
    assert final.usage == blocking.usage
    assert final.finish_reason == "stop"
    assert final.model == "builtin-extractive"


def test_max_tokens_and_stop_cut_the_answer() -> None:
    model = ExtractiveChat()
    question = messages("How many days do I have to request a refund?")
    cut = model.chat(question, max_tokens=3)
    assert cut.finish_reason == "length"
    assert cut.usage.output_tokens <= 3
    assert model.chat(question).text.startswith(cut.text)
    stopped = model.chat(question, stop=["[ID:"])
    assert "[ID:" not in stopped.text
    assert stopped.finish_reason == "stop"


def test_reads_text_parts_of_the_question() -> None:
    question = messages("")
    question[-1]["content"] = [{"type": "text", "text": "Where does the cat sleep?"}]
    assert "[ID:2]" in ExtractiveChat().chat(question).text
