"""CSV and other delimited text: one "column: value; ..." line per row."""

from __future__ import annotations

import csv
import io
from itertools import zip_longest

from ragprism.rag.document import Section

_CSV_SNIFF_CHARS = 4096  # Sniffer's regexes backtrack; a bounded sample bounds its time


def read_csv(text: str) -> list[Section]:
    """The header line, then one "column: value; column: value" line per row, so a row
    retrieved on its own still says what each value means."""
    text = text.replace("\x00", "")
    sample = text[:_CSV_SNIFF_CHARS]
    if len(text) > _CSV_SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        dialect: type[csv.Dialect] = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = (row for row in csv.reader(io.StringIO(text, newline=""), dialect) if any(row))
    header = [" ".join(cell.split()) for cell in next(rows, [])]
    lines = ["; ".join(column for column in header if column)]
    for row in rows:
        pairs = [
            f"{column or f'column {number}'}: {' '.join(value.split())}"
            for number, (column, value) in enumerate(zip_longest(header, row), start=1)
            if value and not value.isspace()
        ]
        if pairs:
            lines.append("; ".join(pairs))
    return [Section("\n".join(lines))]
