"""``ragprism ingest`` and ``ragprism ask``: work against a running server, with progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from ragprism.client.api import DEFAULT_SERVER, ApiError, RagprismClient

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

ServerOption = Annotated[
    str, typer.Option("--server", envvar="RAGPRISM_SERVER", help="The server's base URL.")
]
ApiKeyOption = Annotated[
    str,
    typer.Option(
        "--api-key",
        envvar="RAGPRISM_API_KEY",
        help="An API key (ragflow-…, from POST /v1/system/new_token).",
        show_default=False,
    ),
]
UPLOADED = 0.1
"""Share of a file's bar that the upload fills; parsing fills the rest."""


@contextmanager
def _client(server: str, api_key: str) -> Iterator[RagprismClient]:
    """A client; API and connection errors end the command with one line and status 1."""
    try:
        with RagprismClient(server, api_key) as client:
            yield client
    except ApiError as exc:
        err.print(f"[red]error:[/red] {exc.message} (code {exc.code})")
        raise typer.Exit(1) from None
    except httpx.TransportError as exc:
        err.print(f"[red]error:[/red] cannot reach {server}: {exc}")
        raise typer.Exit(1) from None


@dataclass
class _File:
    path: Path
    task: TaskID
    document_id: str | None = None
    outcome: str | None = None  # None while pending
    failed: bool = False


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files to upload and parse.")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset name; created when missing.")],
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = "",
    wait: Annotated[float, typer.Option(help="Seconds to wait for parsing.")] = 600.0,
) -> None:
    """Upload files into a dataset and parse them, with a progress bar per file and overall;
    failures are listed at the end, and the exit status is 1 if any file failed."""
    with _client(server, api_key) as client:
        found = client.find_dataset(dataset)
        target = found or client.create_dataset(dataset)
        err.print(f"dataset {dataset} ({'existing' if found else 'created'}, id {target['id']})")
        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
        with Progress(*columns, TextColumn("{task.fields[status]}"), console=err) as progress:
            overall = progress.add_task("all files", total=len(paths), status="")
            files = [
                _File(path, progress.add_task(path.name, total=1.0, status="queued"))
                for path in paths
            ]
            for item in files:
                _upload(client, target["id"], item, progress)
            uploaded = [f for f in files if f.document_id]
            if uploaded:
                client.parse(target["id"], [f.document_id for f in uploaded if f.document_id])
            _follow(client, target["id"], uploaded, progress, overall, deadline=wait)
            progress.update(overall, completed=len(paths))
    failed = [f for f in files if f.failed]
    for item in files:
        mark = "[red]✗[/red]" if item.failed else "[green]✓[/green]"
        out.print(f"{mark} {item.path}: {item.outcome}")
    if failed:
        out.print(f"[red]{len(failed)} of {len(files)} file(s) failed[/red]")
        raise typer.Exit(1)
    out.print(f"{len(files)} file(s) ingested into {dataset}")


def _upload(client: RagprismClient, dataset_id: str, item: _File, progress: Progress) -> None:
    if not item.path.is_file():
        item.outcome, item.failed = "no such file", True
    else:
        try:
            item.document_id = client.upload(dataset_id, item.path)["id"]
        except ApiError as exc:
            item.outcome, item.failed = f"upload refused: {exc.message}", True
    status = "[red]failed[/red]" if item.failed else "parsing"
    progress.update(item.task, completed=UPLOADED if not item.failed else 0, status=status)


def _follow(
    client: RagprismClient,
    dataset_id: str,
    files: list[_File],
    progress: Progress,
    overall: TaskID,
    deadline: float,
) -> None:
    """Poll the parse status of ``files`` until each is done or failed, or time is up."""
    ends = time.monotonic() + deadline
    pending = list(files)
    while pending:
        for item in list(pending):
            document = client.document(dataset_id, item.document_id or "")
            run = document.get("run")
            share = UPLOADED + (1 - UPLOADED) * float(document.get("progress") or 0)
            progress.update(item.task, completed=min(share, 1.0))
            if run == "DONE":
                item.outcome = f"{document.get('chunk_count', 0)} chunk(s)"
                progress.update(item.task, completed=1.0, status="[green]done[/green]")
            elif run in ("FAIL", "CANCEL"):
                item.outcome = f"parse failed: {document.get('progress_msg') or run}"
                item.failed = True
                progress.update(item.task, status="[red]failed[/red]")
            else:
                continue
            pending.remove(item)
            progress.advance(overall)
        if pending and time.monotonic() > ends:
            for item in pending:
                item.outcome, item.failed = f"still parsing after {deadline:g} s", True
            return
        if pending:
            time.sleep(0.3)


def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    chat: Annotated[str, typer.Option("--chat", help="Name of the chat assistant.")],
    server: ServerOption = DEFAULT_SERVER,
    api_key: ApiKeyOption = "",
) -> None:
    """Ask a chat assistant: the answer streams as it comes, then its citations and the
    trace URL (when the tenant traces to Langfuse)."""
    with _client(server, api_key) as client:
        assistant = client.find_chat(chat)
        if assistant is None:
            err.print(f"[red]error:[/red] no chat assistant named {chat!r}")
            raise typer.Exit(1)
        last = _stream_answer(client.ask(assistant["id"], question))
    out.print()
    chunks = (last.get("reference") or {}).get("chunks") or []
    if chunks:
        out.print("\nSources:")
    for index, chunk in enumerate(chunks):
        name = chunk.get("document_name") or chunk.get("document_keyword") or chunk.get("doc_name")
        snippet = " ".join(str(chunk.get("content", "")).split())
        snippet = snippet if len(snippet) <= 100 else snippet[:99] + "…"
        out.print(f"  [ID:{index}] {name}: {snippet}")
    if last.get("trace_url"):
        out.print(f"\nTrace: {last['trace_url']}")


def _stream_answer(events: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """Print the answer as it streams, in either of RAGFlow's forms: deltas with a closing
    ``"final": true`` event (current RAGFlow), or each event the whole answer so far
    (``legacy``). Returns the event carrying the reference."""
    printed = ""
    last: dict[str, Any] = {}
    for event in events:
        answer = str(event.get("answer") or "")
        if "final" in event:
            if event["final"]:
                last = {**last, **event}
                continue
            piece = answer
        else:
            piece = answer[len(printed) :] if answer.startswith(printed) else ""
        last = {**last, **{k: v for k, v in event.items() if v not in (None, "", [], {})}}
        out.print(piece, end="", markup=False)
        printed += piece
    return last
