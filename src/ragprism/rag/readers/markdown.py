"""Markdown: kept as written; each ATX or setext heading starts a section."""

from __future__ import annotations

import re

from ragprism.rag.document import Section, SectionBuilder

_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+(.*))?$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def read_markdown(text: str) -> list[Section]:
    """Markdown stays as written; each ATX or setext heading starts a section."""
    builder = SectionBuilder()
    fence: str | None = None
    paragraph_line: str | None = None  # a line that a setext underline would make a heading
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if fence is not None:  # inside a code block "# x" is a comment, not a heading
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                fence = None
            builder.parts.append(line + "\n")
            continue
        opening = _FENCE.match(line)
        atx = None if opening else _ATX_HEADING.match(line)
        if opening:
            fence = opening.group(1)
        elif atx:
            builder.start(_atx_heading_text(atx.group(1) or ""))
        elif paragraph_line is not None and _SETEXT_UNDERLINE.match(line):
            builder.parts.pop()
            builder.start(paragraph_line)
            builder.parts.append(paragraph_line + "\n")
        builder.parts.append(line + "\n")
        paragraph_line = line if line.strip() and not (opening or atx) else None
    return builder.close()


def _atx_heading_text(content: str) -> str:
    """A heading's text without its optional closing "#"s. String methods, not a regex:
    a pattern for "spaces, hashes, spaces, end" backtracks quadratically on long spaces."""
    content = content.strip()
    unclosed = content.rstrip("#")
    if unclosed != content and (not unclosed or unclosed[-1] in " \t"):
        return unclosed.strip()
    return content
