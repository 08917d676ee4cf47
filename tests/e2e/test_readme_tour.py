"""The README's tour, run as a reader pastes it: its bash blocks against a live server, with
the Langfuse-compatible test server started by the command the README gives."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_SERVER = "http://127.0.0.1:9380"
README_LANGFUSE = "http://127.0.0.1:3000"
LANGFUSE_COMMAND = ".venv/bin/python -m tests.support.langfuse_server --port 3000"
# How the README starts the server; the live server of this module gets the same setting.
SERVER_COMMAND = "RAGPRISM_HOST_ALLOWLIST=127.0.0.1 make run"


@pytest.fixture
def server_env() -> dict[str, str]:
    """The README's setting instead of the suite's permissive host policy."""
    return {"RAGPRISM_HOST_ALLOWLIST": "127.0.0.1"}


# The server start alone may take minutes on a loaded machine (see conftest).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def tour_blocks() -> list[str]:
    """The bash blocks of the README section "A 5-minute tour", in order."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## A 5-minute tour", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)


def outputs(stdout: str) -> Iterator[Any]:
    """The JSON documents and the other lines the script printed, in order."""
    decoder = json.JSONDecoder()
    position = 0
    while position < len(stdout):
        if stdout[position].isspace():
            position += 1
        elif stdout[position] in "{[":
            value, position = decoder.raw_decode(stdout, position)
            yield value
        else:
            end = stdout.find("\n", position)
            end = len(stdout) if end < 0 else end
            yield stdout[position:end]
            position = end


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def langfuse_from_readme() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The test server, started with the README's command (on a free port)."""
    command = next(
        line
        for block in tour_blocks()
        for line in block.splitlines()
        if line.startswith(".venv/bin/python -m tests.support.langfuse_server")
    )
    assert command == LANGFUSE_COMMAND
    port = _free_port()
    argv = shlex.split(command.replace("--port 3000", f"--port {port}"))
    argv[0] = sys.executable  # the venv's python, wherever it lives
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner, banner
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_readme_tour_runs_as_pasted(
    live_server: tuple[str, Path],
    langfuse_from_readme: tuple[str, subprocess.Popen[str]],
    tmp_path: Path,
) -> None:
    url, _ = live_server
    langfuse_url, langfuse = langfuse_from_readme
    blocks = tour_blocks()
    assert blocks[0].strip() == SERVER_COMMAND, "the tour starts the server as live_server does"
    assert blocks[1].startswith(LANGFUSE_COMMAND)
    script = "\n".join(blocks[2:])
    commands = re.sub(r"#.*", "", script)  # what bash runs, comments aside
    assert "…" not in commands, "no placeholder left for the reader to fill in"
    assert "<" not in commands, "no <placeholder> that bash reads as a redirect"
    script = script.replace(README_SERVER, url).replace(README_LANGFUSE, langfuse_url)
    workdir, scratch = tmp_path / "checkout", tmp_path / "scratch"
    workdir.mkdir()
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""

    printed = list(outputs(result.stdout))
    documents = [item for item in printed if isinstance(item, dict)]
    lines = [item for item in printed if isinstance(item, str)]
    failed = [doc for doc in documents if doc.get("code") != 0]
    assert not failed, failed
    assert lines, result.stdout
    assert lines[0].startswith("ragflow-"), lines  # step 3's API key
    langfuse_config = next(d["data"] for d in documents if "project_name" in (d["data"] or {}))
    assert langfuse_config["project_name"] == "Local Project"
    assert langfuse_config["secret_key"] != "sk-lf-local"  # masked
    listing = [d["data"] for d in documents if isinstance(d["data"], dict) and "docs" in d["data"]]
    document = listing[-1]["docs"][0]
    assert (document["run"], document["chunk_count"]) == ("DONE", 1)
    answers = [
        d["data"] for d in documents if isinstance(d["data"], dict) and "answer" in d["data"]
    ]
    answer = answers[-1]
    assert "25 days of paid vacation" in answer["answer"]
    assert answer["reference"]["chunks"]
    assert answer["trace_url"].startswith(langfuse_url)

    # Nothing was written into the directory the blocks were pasted in.
    assert list(workdir.iterdir()) == []
    # The test server saw the chat's trace and said so.
    assert langfuse.stdout is not None
    received = [langfuse.stdout.readline() for _ in range(2)]
    assert any(f"ragflow-chat {answer['trace_id']}" in line for line in received), received
