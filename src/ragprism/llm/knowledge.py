"""The knowledge-base blocks RAGFlow puts into a chat prompt, written and read back.

RAGFlow's ``kb_prompt`` renders each retrieved chunk as::

    ID: 0
    ├── Title: handbook.pdf
    ├── URL: https://...            (optional, as are further metadata lines)
    └── Content:
    ...chunk text...

and the model cites a chunk as ``[ID:0]``. The chat service renders chunks with
``format_knowledge_block``; the built-in extractive model reads them back with
``parse_knowledge``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_ID_LINE = re.compile(r"^[ \t]*ID:[ \t]*(\d+)[ \t]*$", re.MULTILINE)
_NODE = re.compile(r"^[ \t]*[├└]──[ \t]*([^:\n]+):[ \t]?(.*)$")
# Where the knowledge ends inside a system prompt: RAGFlow's separators and the closing
# sentence of its default template.
_KNOWLEDGE_END = re.compile(r"^\s*(?:-{4,}\s*$|The above is the knowledge base)", re.IGNORECASE)


@dataclass(frozen=True)
class KnowledgeBlock:
    """One retrieved chunk as the model sees it."""

    id: int
    content: str
    title: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


def citation(block_id: int) -> str:
    """RAGFlow's citation marker for a block."""
    return f"[ID:{block_id}]"


def _one_line(value: str) -> str:
    return re.sub(r"\n+", " ", value)


def format_knowledge_block(
    block_id: int,
    content: str,
    title: str | None = None,
    fields: Mapping[str, str] | None = None,
) -> str:
    """A chunk rendered as RAGFlow's ``kb_prompt`` renders it (Title and fields optional)."""
    text = f"\nID: {block_id}"
    if title:
        text += f"\n├── Title: {_one_line(title)}"
    for name, value in (fields or {}).items():
        if value:
            text += f"\n├── {name}: {_one_line(value)}"
    return text + "\n└── Content:\n" + content


def parse_knowledge(prompt: str) -> list[KnowledgeBlock]:
    """The blocks in ``prompt``, in order: each starts at ``ID: <n>`` and runs to the next.

    Tolerates missing Title/field lines and a missing ``Content:`` marker (then the
    block's remaining lines are its content).
    """
    starts = list(_ID_LINE.finditer(prompt))
    blocks: list[KnowledgeBlock] = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(prompt)
        block = _parse_block(int(match.group(1)), prompt[match.end() : end])
        if block is not None:
            blocks.append(block)
    return blocks


def _parse_block(block_id: int, body: str) -> KnowledgeBlock | None:
    title: str | None = None
    fields: dict[str, str] = {}
    content_lines: list[str] = []
    in_content = False
    for line in body.splitlines():
        if _KNOWLEDGE_END.match(line):
            break
        node = None if in_content else _NODE.match(line)
        if node is not None:
            name, value = node.group(1).strip(), node.group(2).strip()
            if name.lower() == "content":
                in_content = True
                if value:
                    content_lines.append(value)
            elif name.lower() == "title":
                title = value or None
            else:
                fields[name] = value
        else:
            content_lines.append(line)
    content = "\n".join(content_lines).strip()
    if not content:
        return None
    return KnowledgeBlock(id=block_id, content=content, title=title, fields=fields)
