"""Parsing many small documents through ``ragprism serve``: time and server CPU per document.

The real server (`ragprism serve`, SQLite, one process, the default parse worker) in a
child process; one tenant uploads ``--documents`` small text files (~5 KB each) in one
request and asks for all of them to be parsed; the script polls the document list every
50 ms until every one is DONE. Reports the seconds from the parse request to the last
document done, documents per second, and the median of the documents' own
``process_duration`` (claim to done, as the server records it).

With ``--baseline-src DIR`` (e.g. ``git archive <commit> src | tar -x -C DIR``) every
round runs the server on that code (``PYTHONPATH=DIR/src``) and on this checkout, one
after the other, and prints the ratios: the figures are only comparable side by side.

Run: ``.venv/bin/python bench/parse_queue.py [--documents 40] [--rounds 2]
[--baseline-src /tmp/old]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _live_server import LiveServer, Tenant, _data

TEXT = "The office coffee machine is cleaned every Friday afternoon by the facilities team. "


@contextmanager
def python_path(src: Path | None) -> Iterator[None]:
    """The server child imports ragprism from ``src`` (None: this checkout)."""
    before = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = str(src / "src")
    try:
        yield
    finally:
        if src is not None:
            if before is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = before


def one_run(documents: int, src: Path | None) -> dict[str, float]:
    with python_path(src):
        server = LiveServer()
    tenant = Tenant(server, "parse")
    try:
        http = tenant.http
        dataset = _data(http.post("/api/v1/datasets", json={"name": "many"}))["id"]
        files = [
            ("file", (f"note-{n}.txt", (f"Note {n}. " + TEXT * 60).encode(), "text/plain"))
            for n in range(documents)
        ]
        url = f"/api/v1/datasets/{dataset}"
        ids = [doc["id"] for doc in _data(http.post(f"{url}/documents", files=files))]
        started = time.monotonic()
        _data(http.post(f"{url}/chunks", json={"document_ids": ids}))
        while True:
            listed = _data(http.get(f"{url}/documents", params={"page_size": documents}))
            runs = [doc["run"] for doc in listed["docs"]]
            if all(run in ("DONE", "FAIL") for run in runs):
                break
            if time.monotonic() - started > 600:
                raise RuntimeError(f"not parsed after 600 s: {runs.count('RUNNING')} left")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        if runs.count("DONE") != documents:
            raise RuntimeError(f"{runs.count('FAIL')} documents failed")
        durations = [float(doc["process_duration"]) for doc in listed["docs"]]
        return {"seconds": elapsed, "per_doc": statistics.median(durations)}
    finally:
        tenant.close()
        server.close()


def show(label: str, run: dict[str, float], documents: int) -> None:
    print(f"{label:>9}: {documents} documents parsed in {run['seconds']:.2f} s "
          f"({documents / run['seconds']:.1f} documents/s); each document "
          f"{run['per_doc'] * 1e3:.0f} ms from claim to done (median)", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--baseline-src", type=Path, help="a checkout of the code to compare")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"on {os.cpu_count()} CPUs", flush=True)  # fmt: skip
    ratios = []
    for round_ in range(1, args.rounds + 1):
        current = one_run(args.documents, None)
        show(f"round {round_}", current, args.documents)
        if args.baseline_src is not None:
            baseline = one_run(args.documents, args.baseline_src)
            show("baseline", baseline, args.documents)
            ratios.append(current["seconds"] / baseline["seconds"])
    if ratios:
        print(f"time ratio this/baseline: {', '.join(f'{r:.3f}' for r in ratios)} "
              f"(median {statistics.median(ratios):.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
