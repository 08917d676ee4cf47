"""Parse one document in a child process under a time and a memory budget.

A hostile file (a small PDF whose pages share one huge content stream, a .docx whose XML
inflates to tens of MiB) can keep a parser busy for minutes and take gigabytes. Parsing it
in the worker's own process would stall every other tenant's documents behind it, so
`parse_with_budget` hands the bytes to a child process with an address-space limit
(``RLIMIT_AS``) and kills it once the time budget is spent; the document then fails with
a message that names the budget.

Children come from a *forkserver*: a clean, single-threaded process that has already
imported the parsers and run the parent's main script, so starting a child is a cheap
``fork`` of it (~10 ms), never of the server (whose threads make forking it unsafe).
The main script is preloaded by :mod:`ragprism.rag._sandbox_main`, working around a
CPython bug that made every child run it again (~2 s per document under
``ragprism serve``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from dataclasses import dataclass
from multiprocessing import spawn
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext

from ragprism.errors import RagprismError
from ragprism.rag.document import ParsedDocument
from ragprism.rag.parsing import parse_document

try:
    import resource
except ImportError:  # not POSIX: no memory limit, the time budget still applies
    resource = None  # type: ignore[assignment]

MiB = 1024 * 1024
# Preloaded by the forkserver only (never imported here), told the main script's path in
# this environment variable (the same name as _sandbox_main.MAIN_ENV).
_sandbox_main = "ragprism.rag._sandbox_main"
_MAIN_ENV = "RAGPRISM_SANDBOX_MAIN"
# How a child reports that it ran out of its memory budget when it cannot even send that.
_EXIT_OUT_OF_MEMORY = 3


class ParseBudgetExceeded(RagprismError):
    """A document took more time or memory to parse than its budget allows."""


class ParseFailed(RagprismError):
    """The child reported a parse failure (its message is the user-facing one)."""


@dataclass(frozen=True)
class ParseBudget:
    """What parsing one document may take: ``seconds`` of wall-clock time and
    ``memory_bytes`` of address space beyond what the child starts with (0: no limit)."""

    seconds: float
    memory_bytes: int = 0


_context_lock = threading.Lock()
_context: BaseContext | None = None


def _export_main_path() -> None:
    """Tell the forkserver (through its environment) which main script to preload: the
    path a child would run, exactly as multiprocessing computes it. Done at import, while
    a process is still starting, not when the first document is parsed among threads."""
    try:
        data = spawn.get_preparation_data("ragprism-parse-child")
    except RuntimeError:  # imported while the forkserver runs the main script: it is set
        return
    main_path = data.get("init_main_from_path")
    if isinstance(main_path, str):
        os.environ[_MAIN_ENV] = main_path
    else:  # run as a module (-m): children do not run it again; ignore an inherited path
        os.environ.pop(_MAIN_ENV, None)


_export_main_path()


def _mp_context() -> BaseContext:
    global _context
    with _context_lock:
        if _context is None:
            methods = multiprocessing.get_all_start_methods()
            if "forkserver" in methods:
                context = multiprocessing.get_context("forkserver")
                # The forkserver runs the main script (which a child would otherwise run
                # again) and imports the parsers once; every child inherits them.
                context.set_forkserver_preload(["__main__", _sandbox_main, __name__])
                _context = context
            else:
                _context = multiprocessing.get_context("spawn")
        return _context


def parse_with_budget(
    data: bytes, filename: str, budget: ParseBudget, content_type: str | None = None
) -> ParsedDocument:
    """`parse_document` in a child process, killed past ``budget``.

    Raises what `parse_document` raises (as `ParseFailed` with the same message), or
    `ParseBudgetExceeded` naming the budget that was spent.
    """
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200] or "the document"
    receiver, sender = _mp_context().Pipe(duplex=False)
    child = _mp_context().Process(  # type: ignore[attr-defined]
        target=_parse_in_child,
        args=(sender, data, filename, content_type, budget.memory_bytes),
        name="ragprism-parse-child",
        daemon=True,
    )
    try:
        child.start()
        sender.close()  # only the child writes; EOF then means it is gone
        outcome = _receive(receiver, budget.seconds)
        if outcome is None:  # out of time
            child.kill()
            raise ParseBudgetExceeded(
                f"parsing {name} took longer than its budget of {budget.seconds:g} s "
                "(RAGPRISM_PARSE_TIMEOUT_SECONDS); the file may be hostile or too complex"
            )
    finally:
        receiver.close()
        child.join(5)
        if child.is_alive():
            child.kill()
            child.join()
        with contextlib.suppress(ValueError):
            child.close()
    status, value = outcome
    if status == "ok" and isinstance(value, ParsedDocument):
        return value
    if status == "error":
        raise ParseFailed(str(value))
    if status == "memory" or child.exitcode == _EXIT_OUT_OF_MEMORY:
        raise ParseBudgetExceeded(
            f"parsing {name} needed more than its memory budget of "
            f"{budget.memory_bytes // MiB} MiB (RAGPRISM_PARSE_MEMORY_MIB); the file may be "
            "hostile or too large"
        )
    raise ParseFailed(f"the parser stopped unexpectedly on {name} (exit code {child.exitcode})")


def _receive(receiver: Connection, seconds: float) -> tuple[str, object] | None:
    """The child's ``(status, value)``; ``("gone", None)`` if it died without one; None if
    it is still at work after ``seconds``."""
    if not receiver.poll(seconds):
        return None
    try:
        status, value = receiver.recv()
    except (EOFError, OSError):
        return "gone", None
    return str(status), value


def _parse_in_child(
    sender: Connection,
    data: bytes,
    filename: str,
    content_type: str | None,
    memory_bytes: int,
) -> None:
    """The child: limit its own memory, parse, send ``(status, value)`` and exit."""
    start = _mapped_bytes() if memory_bytes > 0 else None
    if start is not None:
        _limit_address_space(start + memory_bytes)
    try:
        parsed = parse_document(data, filename, content_type)
    except MemoryError:
        _send_or_exit(sender, ("memory", None))
        return
    except Exception as exc:
        # Parsers often turn a failed allocation into their own error (lxml says "unknown
        # error"): a failure after using most of the budget is the budget's doing.
        if start is not None and _peak_bytes() >= start + memory_bytes * 3 // 4:
            _send_or_exit(sender, ("memory", None))
        elif isinstance(exc, RagprismError):
            sender.send(("error", exc.message))
        else:  # a parser bug: the user gets a generic message
            sender.send(("error", f"internal error while parsing ({type(exc).__name__})"))
        return
    try:
        sender.send(("ok", parsed))
    except MemoryError:
        os._exit(_EXIT_OUT_OF_MEMORY)


def _send_or_exit(sender: Connection, message: tuple[str, object]) -> None:
    try:
        sender.send(message)
    except MemoryError:
        os._exit(_EXIT_OUT_OF_MEMORY)


def _mapped_bytes() -> int | None:
    """The address space the process maps now (Linux); None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def _peak_bytes() -> int:
    """The largest address space the process has mapped (``VmPeak``); 0 if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _limit_address_space(limit: int) -> None:
    """Cap the process's address space (``RLIMIT_AS``) at ``limit`` bytes."""
    if resource is None:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
