"""The sentences of extracted document text, as a reader would take them.

Text extracted from PDFs (and hand-wrapped HTML or Markdown) breaks lines where the page
ran out, not where sentences end: taking each line as a sentence quotes fragments
("Travel expenses are."). Here lines are joined back into paragraphs (words hyphenated at
a line end are mended), paragraphs are split at sentence punctuation, table rows stay one
unit each, and header-like rows ("Severity | Response time", a short title) are dropped:
they share the question's words but state nothing.
"""

from __future__ import annotations

import re

from ragprism.llm.terms import STOP_WORDS, is_cjk

_BULLET = re.compile(r"^\s*(?:[-*•·]|\d+[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[。！？；])")
_ENDS_SENTENCE = re.compile(r"[.!?:;。！？；…\"')”’]$")
_WORD = re.compile(r"\w+")
HEADER_MAX_WORDS = 4
"""A line this short without end punctuation is taken as a heading, not a statement."""


def passage_sentences(text: str) -> list[str]:
    """Sentences and table rows of ``text``, whitespace collapsed, headings left out."""
    found: list[str] = []
    for unit, whole in _units(text):
        if whole:
            found.append(" ".join(unit.split()))
            continue
        parts = (" ".join(part.split()) for part in _SENTENCE_SPLIT.split(unit))
        found.extend(part for part in parts if part and not _header_like(part))
    return found


def _units(text: str) -> list[tuple[str, bool]]:
    """Paragraphs with wrapped lines joined; table rows with their cells labelled by the
    table's header row ("Severity: 1; Response time: …") and list items, both kept whole
    (True); headings alone."""
    units: list[tuple[str, bool]] = []
    current = ""
    header: list[str] | None = None
    in_table = False
    lines = text.splitlines()
    for index, raw in enumerate(lines):
        line = raw.strip()
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _TABLE_RULE.match(line):
            continue  # the rule under a Markdown table's header
        if _is_table_row(line):
            cells = _cells(line)
            if _TABLE_RULE.match(following) or (not in_table and _header_cells(cells)):
                header = cells
            else:
                units.append((current, False))
                units.append((_row_text(cells, header), True))
            current = ""
            in_table = True
            continue
        header, in_table = None, False
        if not line:
            units.append((current, False))
            current = ""
        elif _BULLET.match(line):
            units.append((current, False))
            units.append((_BULLET.sub("", line), True))
            current = ""
        elif _HEADING.match(line):
            units.append((current, False))
            units.append((_HEADING.sub("", line), False))
            current = ""
        elif current and _continues(current, line):
            current = _join(current, line)
        else:
            units.append((current, False))
            current = line
    units.append((current, False))
    return [(unit, is_row) for unit, is_row in units if unit.strip()]


def _continues(previous: str, line: str) -> bool:
    """Whether ``line`` carries on the sentence ``previous`` left unfinished (wrapped)."""
    if previous.endswith("-") or _ENDS_SENTENCE.search(previous):
        return previous.endswith("-") and line[:1].islower()
    if line[:1].islower():
        return True
    # A line ending with a function word ("… reported to the") cannot end a heading.
    last = _WORD.findall(previous.lower())
    return bool(last) and last[-1] in STOP_WORDS


def _join(previous: str, line: str) -> str:
    if previous.endswith("-") and previous[-2:-1].isalpha() and line[:1].islower():
        return previous[:-1] + line  # "encryp-" + "tion"
    return previous + " " + line


def _is_table_row(line: str) -> bool:
    return line.count("|") >= 2 or (line.count("|") == 1 and not line.startswith("|"))


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _header_cells(cells: list[str]) -> bool:
    """Cells that name columns rather than hold values: short, no digits."""
    return all(len(_WORD.findall(cell)) <= 3 and not re.search(r"\d", cell) for cell in cells)


def _row_text(cells: list[str], header: list[str] | None) -> str:
    if header and len(header) == len(cells):
        return "; ".join(
            f"{name}: {cell}" for name, cell in zip(header, cells, strict=True) if cell
        )
    return ", ".join(cell for cell in cells if cell)


def _header_like(item: str) -> bool:
    """A title or a short label: few words and no end punctuation."""
    if any(is_cjk(char) for char in item):
        return False  # CJK text has no spaces to count words by
    if _ENDS_SENTENCE.search(item):
        return not _WORD.search(item)
    return len(_WORD.findall(item)) <= HEADER_MAX_WORDS
