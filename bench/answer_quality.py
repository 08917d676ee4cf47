"""Answer quality of the built-in extractive model on generated documents.

A small handbook (tests/support/answer_corpus.py) is written as PDF, DOCX, HTML and
Markdown, parsed and chunked the way ingestion does (RAGFlow's default 512 tokens, and 128),
and every chunk is given to ``ExtractiveChat`` as RAGFlow's knowledge prompt; for each of
the ten questions, the answer counts as right when it contains the expected fact. Printed:
the share of right answers per format, and the wrong answers.

Quality, not speed: run it on two commits to compare (docs/benchmarks.md has before/after).

    .venv/bin/python bench/answer_quality.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.answer_corpus import DOCUMENTS, QUESTIONS  # noqa: E402

from ragprism.llm.builtin import ExtractiveChat  # noqa: E402
from ragprism.llm.knowledge import format_knowledge_block  # noqa: E402
from ragprism.rag.chunking import chunk_text  # noqa: E402
from ragprism.rag.parsing import parse_document  # noqa: E402

CHUNK_SIZES = (512, 128)


def knowledge_prompt(filename: str, chunk_token_num: int) -> str:
    """The system prompt RAGFlow builds from every chunk of one generated document."""
    parsed = parse_document(DOCUMENTS[filename](), filename)
    chunks = chunk_text(parsed.sections, chunk_token_num=chunk_token_num)
    blocks = [format_knowledge_block(i, c.text, title=filename) for i, c in enumerate(chunks)]
    return "Here is the knowledge base:\n" + "\n".join(blocks)


def main() -> None:
    model = ExtractiveChat()
    wrong: list[str] = []
    total_right = total = 0
    print(f"{'document':<16}" + "".join(f"{f'{n} tokens':>12}" for n in CHUNK_SIZES))
    for filename in DOCUMENTS:
        row = f"{filename:<16}"
        for size in CHUNK_SIZES:
            system = knowledge_prompt(filename, size)
            right = 0
            for question in QUESTIONS:
                answer = model.answer(
                    [
                        {"role": "system", "content": system},
                        {"role": "user", "content": question.text},
                    ]
                )
                if question.fact.lower() in answer.lower():
                    right += 1
                else:
                    wrong.append(f"{filename} ({size}): {question.text}\n    → {answer}")
            row += f"{right}/{len(QUESTIONS):>2} ({right / len(QUESTIONS):4.0%})".rjust(12)
            total_right += right
            total += len(QUESTIONS)
        print(row)
    print(f"overall: {total_right}/{total} = {total_right / total:.0%}")
    if wrong:
        print("\nwrong answers:")
        print("\n".join(wrong))


if __name__ == "__main__":
    main()
