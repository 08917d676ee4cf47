"""chunk_text: RAGFlow's naive merge with exact token budgets, offsets and overlap."""

from __future__ import annotations

import math
from bisect import bisect_right
from itertools import accumulate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ragprism.errors import InvalidArgument, RetCode
from ragprism.rag.chunking import _TOKEN, Chunk, _count_tokens, chunk_text
from ragprism.rag.parsing import SECTION_SEPARATOR, Section, parse_document


def tokens(text: str) -> list[str]:
    return [match.group() for match in _TOKEN.finditer(text)]


def document_text(sections: list[Section]) -> str:
    return SECTION_SEPARATOR.join(section.text for section in sections)


def own(chunk: Chunk) -> str:
    return chunk.text[chunk.overlap :]


# --- token counting -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 0),
        (" \n\t ", 0),
        ("Hello, world!", 4),
        ("3.14 is pi", 5),
        ("snake_case and naïve", 3),
        ("中文字符", 4),
        ("日本語とEnglish", 5),
        ("wait... what?!", 5),
        ("-" * 80, 5),  # a rule is a few tokens, not eighty
        ("x" * 50, 3),  # a blob is several tokens, not one
    ],
)
def test_count_tokens(text: str, count: int) -> None:
    assert _count_tokens(text) == count


# --- merging and splitting --------------------------------------------------------------


def test_short_text_is_one_chunk_with_section_metadata() -> None:
    chunks = chunk_text([Section("  Just one line.  ", page=3, heading="Intro")])
    assert chunks == [
        Chunk("Just one line.", 0, 4, page=3, heading="Intro", start=2, end=16, overlap=0)
    ]


def test_pieces_merge_greedily_and_cut_after_delimiters() -> None:
    text = "One two three. Four five six! Seven eight? Nine ten.\nEleven twelve"
    chunks = chunk_text([Section(text)], chunk_token_num=8)
    assert [c.text for c in chunks] == [
        "One two three. Four five six!",
        "Seven eight? Nine ten.\nEleven twelve",
    ]
    assert [c.token_count for c in chunks] == [8, 8]
    assert [c.index for c in chunks] == [0, 1]


def test_a_piece_over_budget_is_split_between_words() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    chunks = chunk_text([Section(text)], chunk_token_num=4)
    assert [c.text for c in chunks] == [
        "alpha beta gamma delta",
        "epsilon zeta eta theta",
        "iota kappa",
    ]


def test_a_split_prefers_a_space_to_a_cut_inside_a_hyphenated_word() -> None:
    chunks = chunk_text([Section("a b well-known")], chunk_token_num=4)
    assert [c.text for c in chunks] == ["a b", "well-known"]


def test_text_without_any_space_is_cut_between_tokens() -> None:
    chunks = chunk_text([Section("一二三四五六七")], chunk_token_num=3)
    assert [c.text for c in chunks] == ["一二三", "四五六", "七"]


def test_a_delimiter_inside_a_punctuation_run_is_not_a_cut() -> None:
    chunks = chunk_text([Section("Really!!! Yes")], chunk_token_num=2)
    assert [c.text for c in chunks] == ["Really!!!", "Yes"]


def test_chinese_delimiters_and_custom_backticked_delimiters() -> None:
    chunks = chunk_text([Section("第一句。第二句；第三句")], chunk_token_num=4)
    assert [c.text for c in chunks] == ["第一句。", "第二句；", "第三句"]
    text = "intro ## part one ## part two"
    chunks = chunk_text([Section(text)], chunk_token_num=4, delimiter="`##`")
    assert [c.text for c in chunks] == ["intro ##", "part one ##", "part two"]


def test_chunks_never_span_sections_and_offsets_index_the_document() -> None:
    document = parse_document(
        b"# One\nShort.\n\n# Two\nA longer section. It has two sentences.", "doc.md"
    )
    chunks = chunk_text(document.sections, chunk_token_num=6)
    assert [(c.heading, c.text) for c in chunks] == [
        ("One", "# One\nShort."),
        ("Two", "# Two\nA longer section."),
        ("Two", "It has two sentences."),
    ]
    assert all(document.text[c.start : c.end] == c.text for c in chunks)


def test_whitespace_only_and_empty_sections_give_no_chunks() -> None:
    assert chunk_text([]) == []
    assert chunk_text([Section(""), Section(" \n\n ")]) == []


# --- overlap --------------------------------------------------------------------------


def test_overlap_repeats_the_tail_of_the_previous_chunk() -> None:
    text = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10"
    chunks = chunk_text([Section(text)], chunk_token_num=4, overlapped_percent=0.5)
    assert [(c.text, c.overlap, c.token_count) for c in chunks] == [
        ("w1 w2 w3 w4", 0, 4),
        ("w3 w4 w5 w6 w7 w8", 6, 6),  # 2 carried + 4 own
        ("w7 w8 w9 w10", 6, 4),
    ]
    assert [own(c) for c in chunks] == ["w1 w2 w3 w4", "w5 w6 w7 w8", "w9 w10"]
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_overlap_does_not_cross_sections() -> None:
    sections = [Section("a b c d e f", page=1), Section("g h", page=2)]
    chunks = chunk_text(sections, chunk_token_num=3, overlapped_percent=0.9)
    assert [(c.text, c.overlap, c.page) for c in chunks] == [
        ("a b c", 0, 1),
        ("b c d e f", 4, 1),
        ("g h", 0, 2),
    ]


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 8193, 1.5, True, "512"])
def test_chunk_token_num_is_validated(value: object) -> None:
    with pytest.raises(InvalidArgument, match="chunk_token_num") as caught:
        chunk_text([Section("x")], chunk_token_num=value)  # type: ignore[arg-type]
    assert caught.value.code == RetCode.ARGUMENT_ERROR


@pytest.mark.parametrize("value", [-0.1, 0.95, 1, 50, math.nan, math.inf, False, "0.1"])
def test_overlapped_percent_is_validated(value: object) -> None:
    with pytest.raises(InvalidArgument, match="overlapped_percent"):
        chunk_text([Section("x")], overlapped_percent=value)  # type: ignore[arg-type]


def test_budget_bounds_are_accepted() -> None:
    assert len(chunk_text([Section("a b")], chunk_token_num=1)) == 2
    assert len(chunk_text([Section("a b")], chunk_token_num=8192, overlapped_percent=0.9)) == 1


# --- properties -----------------------------------------------------------------------

texts = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("abc xyz  ..!!??\n\n\t中文。；-#`_0")),
        st.characters(codec="utf-8"),
    ),
    max_size=200,
)
section_lists = st.lists(
    st.builds(
        Section,
        texts,
        page=st.none() | st.integers(1, 9),
        heading=st.none() | st.text(max_size=5),
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    sections=section_lists,
    budget=st.integers(1, 40),
    overlap=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9]),
    delimiter=st.sampled_from(["\n!?。；！？", "", ".", "`##`x", "a"]),
)
def test_chunks_cover_all_text_in_order_within_budget(
    sections: list[Section], budget: int, overlap: float, delimiter: str
) -> None:
    chunks = chunk_text(
        sections, chunk_token_num=budget, delimiter=delimiter, overlapped_percent=overlap
    )
    doc = document_text(sections)

    # Every token of every section, once and in order, across the chunks' own contents;
    # only whitespace lies between them.
    assert [t for c in chunks for t in tokens(own(c))] == tokens(doc)
    assert "".join("".join(own(c).split()) for c in chunks) == "".join(doc.split())
    covered = 0
    for chunk in chunks:
        assert not doc[covered : chunk.start + chunk.overlap].strip()
        covered = chunk.end
    assert not doc[covered:].strip()

    section_starts = list(accumulate((len(s.text) + 2 for s in sections[:-1]), initial=0))
    previous: Chunk | None = None
    for index, chunk in enumerate(chunks):
        assert chunk.index == index
        assert chunk.text
        assert chunk.text == chunk.text.strip()
        assert doc[chunk.start : chunk.end] == chunk.text
        assert chunk.token_count == _count_tokens(chunk.text)
        own_tokens = _count_tokens(own(chunk))
        assert 1 <= own_tokens <= budget
        assert chunk.token_count <= budget + math.floor(overlap * budget)
        section_index = bisect_right(section_starts, chunk.start) - 1
        section = sections[section_index]
        assert chunk.end <= section_starts[section_index] + len(section.text)
        assert (chunk.page, chunk.heading) == (section.page, section.heading)
        if chunk.overlap:
            assert previous is not None
            assert (previous.page, previous.heading) == (chunk.page, chunk.heading)
            carried = chunk.token_count - own_tokens
            assert carried == math.floor(overlap * _count_tokens(own(previous)) + 1e-9)
            assert previous.start + previous.overlap <= chunk.start < previous.end
        previous = chunk


@given(text=texts, budget=st.integers(1, 40))
def test_without_overlap_chunks_and_the_whitespace_between_them_rebuild_the_text(
    text: str, budget: int
) -> None:
    chunks = chunk_text([Section(text)], chunk_token_num=budget)
    rebuilt, position = [], 0
    for chunk in chunks:
        assert chunk.overlap == 0
        gap = text[position : chunk.start]
        assert not gap.strip()
        rebuilt += [gap, chunk.text]
        position = chunk.end
    assert not text[position:].strip()
    assert "".join(rebuilt) + text[position:] == text
