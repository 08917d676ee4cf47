"""PowerPoint (.pptx): one section per slide, headed by its title, with its text boxes,
tables and speaker notes; the slide number is the section's page."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from ragprism.rag.document import Section
from ragprism.rag.readers.ooxml import check_package


def _shape_texts(shapes: Iterable[Any]) -> list[str]:
    texts: list[str] = []
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            texts.extend(_shape_texts(shape.shapes))
        elif getattr(shape, "has_table", False) and shape.has_table:
            rows = [[" ".join(cell.text.split()) for cell in row.cells] for row in shape.table.rows]
            lines = [" | ".join(cells) for cells in rows if any(cells)]
            if lines:
                texts.append("\n".join(lines))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            text = shape.text_frame.text.strip()
            if text:
                texts.append(text)
    return texts


def read_pptx(data: bytes, name: str) -> list[Section]:
    """Slides in order; the title placeholder heads the slide's section."""
    check_package(data, name, "pptx", "ppt/")
    sections = []
    for number, slide in enumerate(Presentation(io.BytesIO(data)).slides, start=1):
        title_shape = slide.shapes.title
        title = title_shape.text_frame.text.strip() if title_shape is not None else ""
        others = [s for s in slide.shapes if title_shape is None or s != title_shape]
        texts = _shape_texts(others)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                texts.append(notes.text.strip())
        body = "\n\n".join([title, *texts] if title else texts)
        if body.strip():
            sections.append(Section(body, page=number, heading=title or None))
    return sections
