"""``ragprism ask`` prints a streamed answer in both of RAGFlow's stream forms."""

from __future__ import annotations

from typing import Any

import pytest

from ragprism.client import commands

REFERENCE = {"chunks": [{"content": "Employees get 25 days.", "document_name": "a.txt"}]}
TRACE = {"trace_id": "t1", "trace_url": "http://127.0.0.1:3000/project/p/traces/t1"}

DELTAS: list[dict[str, Any]] = [
    {"answer": "Employees get ", "final": False, "reference": {}, **TRACE},
    {"answer": "25 days. [ID:0]", "final": False, "reference": {}, **TRACE},
    {"answer": "", "final": True, "reference": REFERENCE, **TRACE},
]
ACCUMULATED: list[dict[str, Any]] = [
    {"answer": "Employees get ", "reference": {}, **TRACE},
    {"answer": "Employees get 25 days. [ID:0]", "reference": {}, **TRACE},
    {"answer": "Employees get 25 days. [ID:0]", "reference": REFERENCE, **TRACE},
]


@pytest.mark.parametrize("events", [DELTAS, ACCUMULATED], ids=["deltas", "legacy"])
def test_both_forms_print_the_answer_once_and_keep_the_reference(
    events: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    last = commands._stream_answer(iter(events))
    assert capsys.readouterr().out == "Employees get 25 days. [ID:0]"
    assert last["reference"] == REFERENCE
    assert last["trace_url"] == TRACE["trace_url"]
