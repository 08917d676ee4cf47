"""parse_with_budget: a document is parsed in a child process, killed past its budget."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragprism.rag.parsing import parse_document
from ragprism.rag.sandbox import (
    MiB,
    ParseBudget,
    ParseBudgetExceeded,
    ParseFailed,
    parse_with_budget,
)
from tests.api.rag_support import docx_bytes, pdf_bytes
from tests.support.hostile_documents import inflating_docx, shared_stream_pdf

ROOMY = ParseBudget(seconds=120, memory_bytes=512 * MiB)


def test_ordinary_documents_parse_as_they_do_in_process() -> None:
    for name, data in [
        ("notes.txt", b"Aardvarks dig burrows.\n\nOwls hunt mice."),
        ("paper.pdf", pdf_bytes("First page.", "Second page.")),
        ("letter.docx", docx_bytes("Dear reader,", "Bees make honey.")),
    ]:
        assert parse_with_budget(data, name, ROOMY) == parse_document(data, name)


def test_a_parse_failure_keeps_its_message() -> None:
    with pytest.raises(ParseFailed, match=r"could not read broken\.pdf as PDF"):
        parse_with_budget(b"%PDF-1.7 this is not really a pdf", "broken.pdf", ROOMY)


def test_pdf_sharing_one_huge_content_stream_is_stopped_at_the_time_budget() -> None:
    hostile = shared_stream_pdf(pages=60, stream_bytes=MiB)
    assert len(hostile) < 20_000  # a small upload
    budget = ParseBudget(seconds=1.5, memory_bytes=512 * MiB)
    with pytest.raises(ParseBudgetExceeded, match=r"hostile\.pdf took longer than its budget"):
        parse_with_budget(hostile, "hostile.pdf", budget)
    # The worker is not harmed: the next document parses.
    assert parse_with_budget(b"still fine", "next.txt", ROOMY).text == "still fine"


def test_docx_inflating_to_megabytes_of_xml_is_stopped_at_the_memory_budget() -> None:
    hostile = inflating_docx(xml_bytes=16 * MiB)
    assert len(hostile) < 100_000
    budget = ParseBudget(seconds=120, memory_bytes=96 * MiB)
    with pytest.raises(ParseBudgetExceeded, match=r"hostile\.docx needed more than its memory"):
        parse_with_budget(hostile, "hostile.docx", budget)
    assert parse_with_budget(b"still fine", "next.txt", ROOMY).text == "still fine"


MAIN_SCRIPT = """
import os, sys
with open(sys.argv[1] if __name__ == "__main__" else os.environ["RUNS_FILE"], "a") as f:
    f.write(f"{os.getpid()}\\n")
from ragprism.rag.sandbox import ParseBudget, parse_with_budget
if __name__ == "__main__":
    os.environ["RUNS_FILE"] = sys.argv[1]
    budget = ParseBudget(seconds=60, memory_bytes=0)
    for n in range(3):
        assert parse_with_budget(b"Owls hunt mice.", f"note{n}.txt", budget).sections
"""


def test_parse_children_do_not_run_the_main_script_again(tmp_path: Path) -> None:
    """Under ``ragprism serve`` the main script is the console script, which imports the
    whole server: a child that ran it again spent ~2 s of CPU per document. It runs in
    the parent and once in the forkserver, whatever the number of documents."""
    script = tmp_path / "main_script.py"
    script.write_text(MAIN_SCRIPT)
    runs = tmp_path / "runs"
    env = {k: v for k, v in os.environ.items() if k != "RAGPRISM_SANDBOX_MAIN"}
    subprocess.run(
        [sys.executable, str(script), str(runs)], env=env, check=True, timeout=120, cwd=tmp_path
    )
    pids = runs.read_text().split()
    assert len(pids) == 2, pids  # was 1 + one per document


def test_an_inherited_main_path_never_runs_in_another_process(tmp_path: Path) -> None:
    """A server started by a process that had parsed documents inherits that process's
    ``RAGPRISM_SANDBOX_MAIN``: it must not run that other script, in itself or in its
    forkserver, and its children must not either."""
    other = tmp_path / "other_script.py"
    other.write_text(f"open({str(tmp_path / 'other-ran')!r}, 'a').write('x')\n")
    script = tmp_path / "main_script.py"
    script.write_text(MAIN_SCRIPT)
    runs = tmp_path / "runs"
    env = {**os.environ, "RAGPRISM_SANDBOX_MAIN": str(other)}
    subprocess.run(
        [sys.executable, str(script), str(runs)], env=env, check=True, timeout=120, cwd=tmp_path
    )
    assert not (tmp_path / "other-ran").exists()
    assert len(runs.read_text().split()) == 2


def test_the_sandbox_and_its_forkserver_module_agree_on_the_variable() -> None:
    from ragprism.rag import _sandbox_main, sandbox

    assert sandbox._MAIN_ENV == _sandbox_main.MAIN_ENV
    assert sandbox._sandbox_main == _sandbox_main.__name__
