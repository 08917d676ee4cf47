"""Excel (.xlsx): one section per sheet, its rows as "column: value; ..." lines."""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date, datetime, time
from itertools import zip_longest
from typing import Any

from openpyxl import load_workbook

from ragprism.rag.document import Section
from ragprism.rag.readers.ooxml import check_package


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime) and value.time() == time():
        return value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _sheet_lines(rows: Iterable[tuple[Any, ...]]) -> list[str]:
    """The first non-empty row is the header; each later row says what its values mean,
    so a row retrieved on its own still makes sense (as the CSV reader does)."""
    cells = ([_cell_text(v) for v in row] for row in rows)
    filled = (row for row in cells if any(row))
    header = next(filled, [])
    lines = ["; ".join(column for column in header if column)]
    for row in filled:
        pairs = [
            f"{column or f'column {number}'}: {value}"
            for number, (column, value) in enumerate(zip_longest(header, row), start=1)
            if value
        ]
        if pairs:
            lines.append("; ".join(pairs))
    return lines


def read_xlsx(data: bytes, name: str) -> list[Section]:
    """Every sheet with content, headed by its name; formulas give their cached values."""
    check_package(data, name, "xlsx", "xl/")
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sections = []
        for sheet in workbook.worksheets:
            lines = _sheet_lines(sheet.iter_rows(values_only=True))
            if any(lines):
                sections.append(Section("\n".join(lines), heading=sheet.title))
        return sections
    finally:
        workbook.close()
