"""Excel and PowerPoint files built in memory for the tests (openpyxl, python-pptx)."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook
from pptx import Presentation
from pptx.util import Inches


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    """A workbook with one sheet per entry, rows as given."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def pptx_bytes(slides: list[tuple[str, str, str]]) -> bytes:
    """A presentation of (title, body, notes) slides; the second slide also gets a table."""
    presentation = Presentation()
    for index, (title, body, notes) in enumerate(slides):
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
        if index == 1:
            shape = slide.shapes.add_table(2, 2, Inches(1), Inches(4), Inches(4), Inches(1))
            for row, cells in enumerate([("Region", "Target"), ("North", "120 units")]):
                for column, text in enumerate(cells):
                    shape.table.cell(row, column).text = text
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


BUDGET = {
    "Budget": [
        ["Team", "Amount", "Approved"],
        ["Support", 12000, date(2026, 3, 1)],
        [None, None, None],
        ["Research", 45000.0, None],
    ],
    "Empty": [],
    "Contacts": [["Name", "Phone"], ["Help desk", "555-0100"]],
}
SLIDES = [
    ("Quarterly review", "Revenue grew nine percent.", "Mention the new office."),
    ("Sales targets", "Targets per region follow.", ""),
    ("", "Questions welcome.", ""),
]
