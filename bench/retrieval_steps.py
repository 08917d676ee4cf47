"""Where a hybrid search on PostgreSQL + pgvector spends its time, on a database kept between runs.

    .venv/bin/python bench/retrieval_steps.py --dir /tmp/rp fill --size 100000
    .venv/bin/python bench/retrieval_steps.py --dir /tmp/rp steps            # p50 per step
    .venv/bin/python bench/retrieval_steps.py --dir /tmp/rp search --save new.json
    git archive <commit> src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src .venv/bin/python bench/retrieval_steps.py --dir /tmp/rp \\
        search --save old.json                                              # older code
    .venv/bin/python bench/retrieval_steps.py compare old.json new.json

``fill`` bulk-fills a pgserver PostgreSQL 16 + pgvector in ``--dir`` with the corpus of
``bench/retrieval.py`` (``bulk_fill``: chunks added without the HNSW index, then the
index built; then ANALYZE) and leaves the server running; the other commands reuse it,
so runs of two versions of the code (``PYTHONPATH``) search the same database in turn.
``search`` times ``store.search`` with the default parameters for the questions
``bench/retrieval.py`` asks (first query apart, p50/p95 of the rest, load average) and
can save the results (``--side-connections 0``: the vector side not on a second
connection); ``compare`` tells whether two saved runs found the same.
``steps`` times each step of ``HybridChunkStore.search`` apart (current code only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
import retrieval as bench  # bench/retrieval.py, beside this file
from ragprism.db import Database
from ragprism.db.engine import normalise_url
from ragprism.db.migrate import upgrade
from ragprism.retrieval import HybridChunkStore, hybrid, make_store, vectors
from ragprism.retrieval.analysis import query_terms
from ragprism.retrieval.records import SearchScope

DATABASE = "ragprism_steps"


def _server_url(directory: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, on import
        import pgserver

    return str(pgserver.get_server(directory / "pgdata", cleanup_mode=None).get_uri())


def _open(
    directory: Path, side_connections: int | None = None
) -> tuple[Database, HybridChunkStore, dict[str, Any]]:
    place = json.loads((directory / "place.json").read_text())
    _server_url(directory)  # started again if it was stopped
    database = Database(place["url"])
    # Only when asked: older code (PYTHONPATH) has no such parameter.
    options = {} if side_connections is None else {"side_connections": side_connections}
    store = make_store(database, **options)
    assert isinstance(store, HybridChunkStore)
    return database, store, place


def fill(directory: Path, size: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    admin = create_engine(normalise_url(_server_url(directory)), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DATABASE}"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    url = make_url(normalise_url(str(admin.url))).set(database=DATABASE)
    rendered = url.render_as_string(hide_password=False)
    upgrade(rendered)
    database = Database(rendered)
    store = make_store(database)
    assert isinstance(store, HybridChunkStore)
    place = bench._prepare(database)
    adding, building = bench.bulk_fill(store, database, place, bench.Corpus(384), 0, size)
    with database.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    (directory / "place.json").write_text(
        json.dumps(
            {
                "url": rendered,
                "tenant_id": place.tenant_id,
                "dataset_id": place.dataset_id,
                "size": size,
            }
        )
    )
    print(f"{size} chunks added in {adding:.0f} s, HNSW index built in {building:.0f} s")


def _questions(size: int, count: int) -> list[tuple[str, list[float]]]:
    corpus = bench.Corpus(384)
    rnd = random.Random(size)  # the questions bench/retrieval.py asks
    return [corpus.question(rnd, size) for _ in range(count + 1)]


def search(directory: Path, count: int, save: Path | None, side: int | None = None) -> None:
    database, store, place = _open(directory, side)
    timings: list[float] = []
    found: list[list[Any]] = []
    for question, vector in _questions(place["size"], count):
        began = time.perf_counter()
        results = store.search(
            place["tenant_id"], [place["dataset_id"]], question=question, query_vector=vector
        )
        timings.append((time.perf_counter() - began) * 1000)
        found.append(
            [
                [r.chunk_id, round(r.similarity, 6), r.content, r.important_keywords, r.position]
                for r in results
            ]
        )
    rest = timings[1:]
    print(
        f"first {timings[0]:.1f} ms, p50 {statistics.median(rest):.1f} ms,"
        f" p95 {float(np.percentile(rest, 95)):.1f} ms,"
        f" {statistics.mean(len(f) for f in found):.0f} results per query,"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    if save is not None:
        save.write_text(json.dumps(found))
    database.dispose()


def steps(directory: Path, count: int) -> None:
    database, store, place = _open(directory)
    names = ["full-text top", "vector nearest", "full-text score", "vector score", "fusion"]
    names.append("result rows")
    spent: dict[str, list[float]] = {name: [] for name in [*names, "whole search"]}
    scope = SearchScope(place["tenant_id"], (place["dataset_id"],))
    for question, vector in _questions(place["size"], count)[1:]:
        marks = [time.perf_counter()]
        with database.engine.connect() as conn:
            terms = store.terms.query(conn, scope, query_terms(question))
            near = store.vectors.query(conn, scope, vectors.unit(vector))
            marks.append(time.perf_counter())
            raw = terms.top(1024)
            marks.append(time.perf_counter())
            cosines = near.nearest(1024)
            marks.append(time.perf_counter())
            candidates = raw.keys() | cosines.keys()
            raw.update(terms.score(cosines.keys() - raw.keys()))
            marks.append(time.perf_counter())
            cosines.update(near.score(raw.keys() - cosines.keys()))
            marks.append(time.perf_counter())
            ranked = hybrid.rank(
                candidates,
                hybrid.normalise_term_scores(raw),
                cosines,
                vector_similarity_weight=0.3,
                similarity_threshold=0.2,
                top_k=1024,
            )
            marks.append(time.perf_counter())
            store._result_rows(conn, place["tenant_id"], [r.chunk_id for r in ranked])
            marks.append(time.perf_counter())
        for name, start, stop in zip(names, marks[1:-1], marks[2:], strict=True):
            spent[name].append((stop - start) * 1000)
        spent["whole search"].append((marks[-1] - marks[0]) * 1000)
    for name, values in spent.items():
        print(f"{name:<16} p50 {statistics.median(values):6.1f} ms")
    print(f"load average {os.getloadavg()[0]:.2f}")
    database.dispose()


def compare(old: Path, new: Path) -> None:
    before, after = json.loads(old.read_text()), json.loads(new.read_text())
    same = sum(a == b for a, b in zip(before, after, strict=True))
    print(f"{same} of {len(before)} result lists identical")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ragprism-retrieval-steps"))
    parser.add_argument("--queries", type=int, default=50)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("fill").add_argument("--size", type=int, default=100_000)
    searching = commands.add_parser("search")
    searching.add_argument("--save", type=Path)
    searching.add_argument(
        "--side-connections", type=int, help="0: both sides on one connection (current code)"
    )
    commands.add_parser("steps")
    compared = commands.add_parser("compare")
    compared.add_argument("old", type=Path)
    compared.add_argument("new", type=Path)
    args = parser.parse_args(argv)
    if args.command == "fill":
        fill(args.dir, args.size)
    elif args.command == "search":
        search(args.dir, args.queries, args.save, args.side_connections)
    elif args.command == "steps":
        steps(args.dir, args.queries)
    else:
        compare(args.old, args.new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
