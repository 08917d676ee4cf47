"""A small handbook written as PDF (fpdf2), DOCX (python-docx), HTML and Markdown, with
questions whose answers it states: what bench/answer_quality.py and tests/llm measure the
built-in answerer on.

Each format lays the text out as such documents usually do: prose paragraphs that wrap
(and, in the PDF, break words with hyphens at line ends), and a table with a header row.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

PARAGRAPHS = (
    "Vacation. Every employee is entitled to twenty-five days of paid vacation per calendar "
    "year, and unused days can be carried over into the first quarter of the following year "
    "with the written approval of the team lead.",
    "Expenses. Travel expenses are reimbursed within thirty days after the expense report "
    "has been submitted through the finance portal together with the original receipts.",
    "Security. Laptops must be encrypted with full-disk encryption and locked whenever they "
    "are left unattended, and lost devices have to be reported to the security team within "
    "two hours.",
    "Onboarding. New colleagues receive their equipment on the first working day and are "
    "paired with a mentor who accompanies them through the first six weeks.",
    "Remote work. Employees may work remotely up to three days per week when their manager "
    "agrees and their role does not require presence in the office.",
)

TABLE_HEADER = ("Severity", "Response time", "Example")
TABLE_ROWS = (
    ("1", "Critical incidents are answered within 15 minutes", "Production outage"),
    ("2", "Major incidents are answered within 4 hours", "Degraded service"),
    ("3", "Minor incidents are answered within 2 working days", "Cosmetic defect"),
)
TABLE_TITLE = "Support severity levels"


@dataclass(frozen=True)
class Question:
    text: str
    fact: str  # the answer is right when it contains this (case-insensitive)


QUESTIONS = (
    Question("How many days of paid vacation does an employee get per year?", "twenty-five days"),
    Question("Can unused vacation days be carried over?", "carried over"),
    Question("When are travel expenses reimbursed?", "within thirty days"),
    Question("How must laptops be protected?", "full-disk encryption"),
    Question("How quickly must a lost device be reported?", "within two hours"),
    Question("How long does the mentor accompany new colleagues?", "six weeks"),
    Question("How many days per week can employees work remotely?", "three days per week"),
    Question("What is the response time for severity 1?", "15 minutes"),
    Question("What is the response time for major severity 2 incidents?", "4 hours"),
    Question("When are minor incidents answered?", "2 working days"),
)


def _soft_hyphens(text: str) -> str:
    """Long words get a soft hyphen in the middle: where a line breaks there, the PDF shows
    "encryp-" at the end of one line and "tion" at the start of the next."""
    return " ".join(
        word[: len(word) // 2] + "\u00ad" + word[len(word) // 2 :]
        if len(word) >= 9 and word.isalpha()
        else word
        for word in text.split()
    )


def pdf_bytes() -> bytes:
    """Prose in narrow, justified multi-cells (lines wrap; long words split with hyphens),
    then the severity table."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for paragraph in PARAGRAPHS:
        # 70 mm wide: every paragraph wraps over several lines.
        text = _soft_hyphens(paragraph)
        pdf.multi_cell(70, 6, text, align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.set_font("Helvetica", style="B", size=11)
    pdf.cell(0, 8, TABLE_TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    with pdf.table(col_widths=(20, 100, 50)) as table:
        for row in (TABLE_HEADER, *TABLE_ROWS):
            cells = table.row()
            for value in row:
                cells.cell(value)
    return bytes(pdf.output())


def docx_bytes() -> bytes:
    """Paragraphs, a heading and a table (python-docx)."""
    from docx import Document

    document = Document()
    for paragraph in PARAGRAPHS:
        document.add_paragraph(paragraph)
    document.add_heading(TABLE_TITLE, level=2)
    table = document.add_table(rows=0, cols=len(TABLE_HEADER))
    for row in (TABLE_HEADER, *TABLE_ROWS):
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _wrap(text: str, width: int = 60) -> str:
    """Hard-wrapped lines, as hand-written HTML and Markdown often are."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def html_bytes() -> bytes:
    """Hard-wrapped paragraphs and a table with a header row."""
    body = "\n".join(f"<p>{_wrap(p)}</p>" for p in PARAGRAPHS)
    header = "".join(f"<th>{cell}</th>" for cell in TABLE_HEADER)
    rows = "".join(
        "<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in TABLE_ROWS
    )
    table = f"<h2>{TABLE_TITLE}</h2>\n<table><tr>{header}</tr>{rows}</table>"
    page = f"<html><head><title>Handbook</title></head><body>\n{body}\n{table}\n</body></html>"
    return page.encode()


def markdown_bytes() -> bytes:
    """Hard-wrapped paragraphs and a pipe table."""
    body = "\n\n".join(_wrap(p) for p in PARAGRAPHS)
    lines = [f"| {' | '.join(TABLE_HEADER)} |", "|" + "---|" * len(TABLE_HEADER)]
    lines += [f"| {' | '.join(row)} |" for row in TABLE_ROWS]
    text = f"# Handbook\n\n{body}\n\n## {TABLE_TITLE}\n\n" + "\n".join(lines) + "\n"
    return text.encode()


DOCUMENTS: dict[str, Callable[[], bytes]] = {
    "handbook.pdf": pdf_bytes,
    "handbook.docx": docx_bytes,
    "handbook.html": html_bytes,
    "handbook.md": markdown_bytes,
}
