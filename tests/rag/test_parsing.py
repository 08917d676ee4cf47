"""parse_document on generated files of every supported kind, and on hostile bytes."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest
from fpdf import FPDF
from hypothesis import given, settings
from hypothesis import strategies as st

from ragprism.errors import DataError, InvalidArgument, RagprismError, RetCode
from ragprism.rag.parsing import (
    SECTION_SEPARATOR,
    SUPPORTED_EXTENSIONS,
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedDocument,
    ParsedDocument,
    Section,
    UnsupportedFormat,
    decode_text,
    document_kind,
    normalise_whitespace,
    parse_document,
)
from ragprism.rag.readers import word

# Hostile inputs must fail fast; a hang shows up as a timeout, not a slow pass.
fails_fast = pytest.mark.timeout(10)


def make_pdf(pages: list[str], *, user_password: str | None = None) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    if user_password is not None:
        pdf.set_encryption(owner_password="owner", user_password=user_password)
    return bytes(pdf.output())


def make_docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("Prepared by the finance team.")
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Revenue grew by 12 percent.")
    table = document.add_table(rows=3, cols=3)
    header, first = table.rows[0], table.rows[1]
    for row, values in ((header, ("Region", "Q1", "Q2")), (first, ("North", "10", "12"))):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = table.cell(2, 0).merge(table.cell(2, 2))
    merged.text = "Totals are unaudited"
    document.add_heading("Outlook", level=2)
    document.add_paragraph("Stable.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def assert_consistent(document: ParsedDocument) -> None:
    assert document.text == SECTION_SEPARATOR.join(s.text for s in document.sections)
    assert all(s.text and s.text == s.text.strip() for s in document.sections)


# --- format detection -----------------------------------------------------------------


def test_supported_extensions_cover_every_kind() -> None:
    kinds = {document_kind(f"file{extension}") for extension in SUPPORTED_EXTENSIONS}
    assert kinds == {"txt", "md", "html", "pdf", "docx", "csv", "xlsx", "pptx"}


@pytest.mark.parametrize(
    ("filename", "content_type", "kind"),
    [
        ("REPORT.PDF", None, "pdf"),
        ("notes.txt", "application/pdf", "txt"),  # the extension wins
        ("upload", "text/markdown; charset=utf-8", "md"),
        ("upload.bin", "text/html", "html"),
        ("C:\\Users\\me\\table.csv", None, "csv"),
        ("dir/page.htm", None, "html"),
    ],
)
def test_kind_by_extension_then_content_type(
    filename: str, content_type: str | None, kind: str
) -> None:
    assert document_kind(filename, content_type) == kind


@fails_fast
def test_unsupported_extension_names_it_and_the_supported_list() -> None:
    with pytest.raises(UnsupportedFormat) as caught:
        parse_document(b"MZ\x90\x00", "setup.exe", "application/octet-stream")
    assert isinstance(caught.value, InvalidArgument)
    assert caught.value.code == RetCode.ARGUMENT_ERROR
    assert "'.exe'" in caught.value.message
    assert all(extension in caught.value.message for extension in SUPPORTED_EXTENSIONS)


def test_no_extension_and_no_content_type_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormat, match="no extension"):
        parse_document(b"hello", "README")


# --- plain text and encodings -----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "Grüße, 世界".encode(),
        b"\xef\xbb\xbf" + "Grüße, 世界".encode(),
        "Grüße, 世界".encode("utf-16"),  # with BOM, native order
        "Grüße, 世界".encode("utf-16-be").join([b"\xfe\xff", b""]),
        "Grüße, 世界".encode("utf-32"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-be-bom", "utf-32"],
)
def test_text_encodings_with_or_without_bom(data: bytes) -> None:
    document = parse_document(data, "greeting.txt")
    assert document.text == "Grüße, 世界"
    assert document.kind == "txt"
    assert document.sections == [Section("Grüße, 世界", page=None, heading=None)]


def test_bomless_utf16_is_recognised_by_its_nul_pattern() -> None:
    text = "Plain English text, Grüße."
    assert decode_text(text.encode("utf-16-le")) == text
    assert decode_text(text.encode("utf-16-be")) == text


def test_legacy_encodings_fall_back_without_crashing() -> None:
    assert decode_text("café – “quoted”".encode("cp1252")) == "café – “quoted”"
    # 0x81 is undefined in cp1252: latin-1 still decodes it
    assert decode_text(b"caf\xe9 \x81") == "café \x81"
    assert parse_document(b"caf\xe9 \x81ok", "legacy.txt").text.startswith("café")


def test_charset_from_the_content_type_is_used() -> None:
    data = "Привет".encode("koi8-r")
    assert parse_document(data, "ru.txt", "text/plain; charset=koi8-r").text == "Привет"


def test_whitespace_is_normalised_and_nul_bytes_stripped() -> None:
    raw = b"  First\x00 line\t\twith   spaces  \r\n\r\n\r\n\r\nSecond\rThird \x0c\n"
    assert parse_document(raw, "a.txt").text == "First line with spaces\n\nSecond\nThird"


@given(st.text())
def test_normalise_whitespace_properties(text: str) -> None:
    normal = normalise_whitespace(text)
    assert "\x00" not in normal
    assert "  " not in normal
    assert "\n\n\n" not in normal
    assert normal == normal.strip()
    assert normalise_whitespace(normal) == normal
    assert normal.split() == normalise_whitespace(" ".join(text.split())).split()


# --- markdown -------------------------------------------------------------------------


def test_markdown_headings_become_sections_and_text_is_kept() -> None:
    source = (
        b"Preface line.\n\n"
        b"# Install\n"
        b"Run the installer.\n"
        b"```sh\n# a comment, not a heading\nmake install\n```\n"
        b"Usage\n=====\n"
        b"Call `run()`.\n"
        b"## Options ##\n"
        b"- **fast**: yes\n"
    )
    document = parse_document(source, "guide.md")
    assert document.kind == "md"
    assert [(s.heading, s.text.splitlines()[0]) for s in document.sections] == [
        (None, "Preface line."),
        ("Install", "# Install"),
        ("Usage", "Usage"),
        ("Options", "## Options ##"),
    ]
    assert "# a comment, not a heading" in document.sections[1].text
    assert "- **fast**: yes" in document.text
    assert_consistent(document)


# --- HTML -----------------------------------------------------------------------------

HTML = """<!DOCTYPE html>
<html><head><meta charset="windows-1252"><title>Handbook</title>
<style>body { color: red }</style><script>var secret = "tracking";</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<p>Intro before   any
heading.</p>
<!-- an HTML comment -->
<h1>Caf\xe9 &amp; Bar</h1>
<p>Fish &lt;3 &eacute;t&eacute;.<br>Second line.</p>
<div>Block one</div>Tail text
<ul><li>apples</li><li>pears</li></ul>
<h2>Prices</h2>
<table><tr><th>Item</th><th>Price</th></tr><tr><td>Tea</td><td>2 &euro;</td></tr></table>
<pre>code line 1
code line 2</pre>
<noscript>Enable JavaScript</noscript>
<script>document.write("more noise")</script>
</body></html>
""".encode("cp1252")


def test_html_drops_noise_and_keeps_headings_and_breaks() -> None:
    document = parse_document(HTML, "handbook.html")
    assert document.kind == "html"
    for noise in ("color: red", "tracking", "Home", "About", "more noise", "comment", "Enable"):
        assert noise not in document.text
    assert [s.heading for s in document.sections] == ["Handbook", "Café & Bar", "Prices"]
    intro, cafe, prices = (s.text for s in document.sections)
    assert intro == "Intro before any heading."
    assert cafe.split("\n\n") == [
        "Café & Bar",
        "Fish <3 été.\nSecond line.",
        "Block one",
        "Tail text",
        "apples\npears",
    ]
    assert prices.split("\n\n") == ["Prices", "Item | Price\nTea | 2 €", "code line 1\ncode line 2"]
    assert_consistent(document)


def test_html_that_looks_like_a_url_or_xhtml_does_not_warn() -> None:
    assert parse_document(b"https://example.com/page.html", "link.html").text.startswith("https")
    xhtml = b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><p>Hi</p></html>'
    assert parse_document(xhtml, "page.xhtml", "application/xhtml+xml").text == "Hi"


@fails_fast
def test_deeply_nested_html_does_not_blow_the_stack() -> None:
    data = b"<div>" * 10_000 + b"deep" + b"</div>" * 10_000
    assert parse_document(data, "nested.html").text == "deep"


# --- PDF ------------------------------------------------------------------------------


def test_pdf_pages_become_sections_with_page_numbers() -> None:
    data = make_pdf(["First page about apples.", "Second page about pears."])
    document = parse_document(data, "fruit.pdf")
    assert document.kind == "pdf"
    assert [(s.page, s.text) for s in document.sections] == [
        (1, "First page about apples."),
        (2, "Second page about pears."),
    ]
    assert document.text == "First page about apples.\n\nSecond page about pears."


def test_pdf_blank_page_is_skipped_and_all_blank_is_empty() -> None:
    document = parse_document(make_pdf(["", "Only text here."]), "mostly-blank.pdf")
    assert [(s.page, s.text) for s in document.sections] == [(2, "Only text here.")]
    with pytest.raises(EmptyDocument, match=r"^no text could be extracted from scan\.pdf$"):
        parse_document(make_pdf(["", ""]), "scan.pdf")


@fails_fast
def test_pdf_with_a_user_password_is_refused() -> None:
    data = make_pdf(["Secret plans."], user_password="hunter2")
    with pytest.raises(EncryptedDocument) as caught:
        parse_document(data, "secret.pdf")
    assert isinstance(caught.value, CorruptDocument)
    assert caught.value.message == "could not read secret.pdf as PDF: it is password-protected"


def test_pdf_with_only_an_owner_password_opens() -> None:
    data = make_pdf(["Printable, not editable."], user_password="")
    assert parse_document(data, "restricted.pdf").text == "Printable, not editable."


def test_pdf_over_the_page_limit_is_refused() -> None:
    data = make_pdf(["one", "two", "three"])
    with pytest.raises(DocumentTooLarge, match="3 pages; at most 2"):
        parse_document(data, "long.pdf", max_pages=2)


# --- DOCX -----------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_tables() -> None:
    document = parse_document(make_docx(), "report.docx")
    assert document.kind == "docx"
    assert [(s.heading, s.text) for s in document.sections] == [
        (None, "Prepared by the finance team."),
        (
            "Quarterly report",
            "Quarterly report\n\nRevenue grew by 12 percent.\n\n"
            "Region | Q1 | Q2\nNorth | 10 | 12\nTotals are unaudited",
        ),
        ("Outlook", "Outlook\n\nStable."),
    ]
    assert_consistent(document)


# --- CSV ------------------------------------------------------------------------------


def test_csv_rows_are_rendered_under_the_header() -> None:
    data = (
        b"name,city,note\r\n"
        b"Ada,London,\r\n"
        b'"Babbage, C.",Teignmouth,"two\nlines"\r\n'
        b"\r\n"
        b"Lovelace,,,extra\r\n"
    )
    document = parse_document(data, "people.csv")
    assert document.kind == "csv"
    assert document.text.splitlines() == [
        "name; city; note",
        "name: Ada; city: London",
        "name: Babbage, C.; city: Teignmouth; note: two lines",
        "name: Lovelace; column 4: extra",
    ]


def test_csv_delimiter_is_sniffed() -> None:
    data = b"id;label\n1;alpha\n2;beta\n"
    assert parse_document(data, "semi.csv").text.splitlines()[1:] == [
        "id: 1; label: alpha",
        "id: 2; label: beta",
    ]


@fails_fast
def test_csv_sniffing_is_bounded_on_pathological_quotes() -> None:
    # Quotes that never close make csv.Sniffer's regexes backtrack over the whole sample.
    data = (',"' * 200_000 + "\nlast,line\n").encode()
    assert parse_document(data, "quotes.csv").kind == "csv"


# --- hostile and empty input ------------------------------------------------------------


@fails_fast
@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (make_pdf(["Some text."])[:300], "cut.pdf", "could not read cut.pdf as PDF"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 40, "garbage.pdf", "could not read garbage.pdf"),
        (
            bytes(range(256)) * 64,
            "random.docx",
            "could not read random.docx as a Word (.docx) document: it is not a valid .docx file",
        ),
        (
            make_zip({"hello.txt": b"hi"}),
            "archive.docx",
            "could not read archive.docx as a Word (.docx) document: "
            "the archive is not a Word document",
        ),
        (make_docx()[:2000], "truncated.docx", "could not read truncated.docx"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            "old.docx",
            "could not read old.docx as a Word (.docx) document: "
            "it is a legacy .doc file or a password-protected .docx",
        ),
        (
            make_zip({"[Content_Types].xml": b"<nope", "word/document.xml": b"<nope"}),
            "broken.docx",
            "could not read broken.docx as a Word (.docx) document",
        ),
    ],
    ids=[
        "truncated-pdf",
        "garbage-pdf",
        "random-docx",
        "zip-not-docx",
        "cut-docx",
        "ole-doc",
        "bad-xml",
    ],
)
def test_corrupt_files_give_a_clean_data_error(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(CorruptDocument) as caught:
        parse_document(data, filename)
    assert isinstance(caught.value, DataError)
    assert caught.value.code == RetCode.DATA_ERROR
    assert caught.value.message.startswith(message)
    assert "Traceback" not in caught.value.message
    assert "Error" not in caught.value.message


@fails_fast
def test_docx_zip_bomb_is_refused_before_inflating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(word, "MAX_DOCX_UNCOMPRESSED_BYTES", 1_000_000)
    bomb = make_zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"\x00" * 2_000_000})
    with pytest.raises(DocumentTooLarge, match=r"bomb\.docx expands to more than 0 MiB"):
        parse_document(bomb, "bomb.docx")


@fails_fast
@pytest.mark.parametrize("extension", SUPPORTED_EXTENSIONS)
@pytest.mark.parametrize("data", [b"", b" \n\t\r\n "], ids=["empty", "whitespace"])
def test_empty_files_are_empty_documents(extension: str, data: bytes) -> None:
    with pytest.raises(EmptyDocument) as caught:
        parse_document(data, f"blank{extension}")
    assert caught.value.message == f"no text could be extracted from blank{extension}"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"\x00\x00 \x00", "nuls.txt"),
        ("\ufeff \u200b ".encode(), "invisible.md"),
        (b"<html><script>only()</script><!-- c --></html>", "silent.html"),
        (b"\n\n", "lines.csv"),
    ],
)
def test_text_that_normalises_to_nothing_is_empty(data: bytes, filename: str) -> None:
    with pytest.raises(EmptyDocument):
        parse_document(data, filename)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=2000), extension=st.sampled_from(SUPPORTED_EXTENSIONS))
def test_arbitrary_bytes_never_escape_as_library_errors(data: bytes, extension: str) -> None:
    try:
        document = parse_document(data, f"fuzz{extension}")
    except RagprismError:
        return
    assert document.text
    assert "\x00" not in document.text
    assert_consistent(document)
