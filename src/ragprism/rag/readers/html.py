"""HTML: the visible text in document order; headings start sections."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import NavigableString, PageElement, PreformattedString, Tag

from ragprism.rag.document import Section, SectionBuilder
from ragprism.rag.text import decode_text

_HTML_DROPPED = frozenset({"script", "style", "nav", "noscript", "template", "title"})
_HTML_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_HTML_PARAGRAPHS = frozenset({
    "address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset",
    "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main",
    "ol", "p", "pre", "section", "summary", "table", "ul",
})  # fmt: skip
_HTML_LINES = frozenset({"br", "caption", "dd", "dt", "figcaption", "li", "tr"})
_HTML_CELLS = frozenset({"td", "th"})
_HTML_VERBATIM = frozenset({"pre", "textarea"})
_HTML_SPACE = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([\w.:-]+)""", re.I)


def read_html(data: bytes, charset: str | None) -> list[Section]:
    """Visible text in document order; block elements break lines, headings start sections.

    One iterative walk over the tree, without modifying it: bs4's insert() is linear in
    the nesting depth, and recursion would overflow on deeply nested pages.
    """
    if charset is None and (declared := _META_CHARSET.search(data[:4096])):
        charset = declared.group(1).decode("ascii")
    with warnings.catch_warnings():
        # Short documents that look like a URL or an XHTML file make bs4 warn; both are fine.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(decode_text(data, charset), "html.parser")

    title = soup.find("title")
    builder = SectionBuilder(title.get_text(" ", strip=True) if title else None)
    parts = builder.parts
    heading: tuple[Tag, int] | None = None  # the open heading, where its text begins
    verbatim = 0  # depth inside <pre>/<textarea>, where the page's own line breaks count
    rows_with_cells: set[int] = set()
    stack: list[tuple[Tag, Iterator[PageElement]]] = [(soup, iter(soup.contents))]
    while stack:
        parent, children = stack[-1]
        child = next(children, None)
        if child is None:  # leaving `parent`
            stack.pop()
            verbatim -= parent.name in _HTML_VERBATIM
            if heading is not None and heading[0] is parent:
                builder.heading = " ".join("".join(parts[heading[1] :]).split())
                heading = None
            if parent.name in _HTML_PARAGRAPHS:
                parts.append("\n\n")
        elif isinstance(child, Tag):
            if child.name in _HTML_DROPPED:
                continue
            starts_section = child.name in _HTML_HEADINGS and heading is None
            if starts_section:
                builder.start(None)
            if child.name in _HTML_PARAGRAPHS:
                parts.append("\n\n")
            elif child.name in _HTML_LINES:
                parts.append("\n")
            elif child.name in _HTML_CELLS:
                if id(parent) in rows_with_cells:
                    parts.append(" | ")
                rows_with_cells.add(id(parent))
            if starts_section:
                heading = (child, len(parts))
            verbatim += child.name in _HTML_VERBATIM
            stack.append((child, iter(child.contents)))
        elif isinstance(child, NavigableString) and not isinstance(child, PreformattedString):
            parts.append(str(child) if verbatim else _HTML_SPACE.sub(" ", child))
    return builder.close()
