"""``ragprism ingest`` and ``ragprism ask`` against a live server, with an API key."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from ragprism.cli import app
from tests.support.langfuse_server import FakeLangfuse

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

HANDBOOK = "Employees get 25 days of paid vacation per year.\n\nTravel is reimbursed in 30 days.\n"
TRAVEL = "# Travel\n\nTrain tickets are booked through the travel desk.\n"


def run(*args: str, api_key: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"RAGPRISM_API_KEY": api_key})


def one_line(output: str) -> str:
    return " ".join(output.split())


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "handbook": tmp_path / "handbook.txt",
        "travel": tmp_path / "travel.md",
        "binary": tmp_path / "photo.xyz",
    }
    paths["handbook"].write_text(HANDBOOK)
    paths["travel"].write_text(TRAVEL)
    paths["binary"].write_bytes(b"\x00\x01")
    return paths


def test_ingest_creates_the_dataset_parses_and_lists_failures(
    live_server: tuple[str, Path], api_key: str, files: dict[str, Path]
) -> None:
    url, _ = live_server
    result = run(
        "ingest",
        str(files["handbook"]),
        str(files["binary"]),
        str(files["travel"]),
        str(files["handbook"].with_name("missing.txt")),
        "--dataset",
        "handbook",
        "--server",
        url,
        api_key=api_key,
    )
    output = one_line(result.output)
    assert result.exit_code == 1, result.output
    assert "dataset handbook (created" in output
    assert f"✓ {files['handbook']}: 1 chunk(s)" in output
    assert f"✓ {files['travel']}: 1 chunk(s)" in output
    assert re.search(rf"✗ {re.escape(str(files['binary']))}: upload refused: .*\.xyz", output)
    assert "missing.txt: no such file" in output
    assert "2 of 4 file(s) failed" in output

    headers = {"Authorization": f"Bearer {api_key}"}
    datasets = httpx.get(f"{url}/api/v1/datasets", headers=headers).json()["data"]
    assert [d["name"] for d in datasets] == ["handbook"]
    docs = httpx.get(f"{url}/api/v1/datasets/{datasets[0]['id']}/documents", headers=headers)
    assert sorted(d["run"] for d in docs.json()["data"]["docs"]) == ["DONE", "DONE"]

    # Again, into the existing dataset: all files good, exit status 0.
    again = run(
        "ingest", str(files["travel"]), "--dataset", "handbook", "--server", url, api_key=api_key
    )
    assert again.exit_code == 0, again.output
    assert "dataset handbook (existing" in one_line(again.output)
    assert "1 file(s) ingested into handbook" in one_line(again.output)


def test_ask_streams_the_answer_with_citations_and_the_trace_url(
    live_server: tuple[str, Path], api_key: str, files: dict[str, Path]
) -> None:
    url, _ = live_server
    headers = {"Authorization": f"Bearer {api_key}"}
    with FakeLangfuse() as langfuse:
        connected = httpx.put(
            f"{url}/api/v1/langfuse/api-key",
            headers=headers,
            json={
                "public_key": langfuse.public_key,
                "secret_key": langfuse.secret_key,
                "host": langfuse.url,
            },
        ).json()
        assert connected["code"] == 0, connected
        ingested = run(
            "ingest", str(files["handbook"]), "--dataset", "hr", "--server", url, api_key=api_key
        )
        assert ingested.exit_code == 0, ingested.output
        dataset_id = httpx.get(f"{url}/api/v1/datasets", headers=headers).json()["data"][0]["id"]
        created = httpx.post(
            f"{url}/api/v1/chats",
            headers=headers,
            json={"name": "HR bot", "dataset_ids": [dataset_id]},
        ).json()
        assert created["code"] == 0, created

        result = run(
            "ask",
            "How many vacation days do we get?",
            "--chat",
            "HR bot",
            "--server",
            url,
            api_key=api_key,
        )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Employees get 25 days of paid vacation per year. [ID:0]"
    assert "Sources:" in lines
    assert any(line.startswith("  [ID:0] handbook.txt: Employees get 25") for line in lines)
    trace = next(line for line in lines if line.startswith("Trace: "))
    assert trace.startswith(f"Trace: {langfuse.url}/project/{langfuse.project_id}/traces/")


def test_ask_names_a_missing_chat_and_a_bad_key(
    live_server: tuple[str, Path], api_key: str
) -> None:
    url, _ = live_server
    missing = run("ask", "Hello?", "--chat", "nobody", "--server", url, api_key=api_key)
    assert missing.exit_code == 1
    assert "no chat assistant named 'nobody'" in one_line(missing.output)
    bad = run("ask", "Hello?", "--chat", "x", "--server", url, api_key="ragflow-wrong")
    assert bad.exit_code == 1
    assert "(code 401)" in one_line(bad.output) or "(code 109)" in one_line(bad.output)
