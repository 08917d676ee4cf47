"""Mixed load on 1 vs 2 server processes on PostgreSQL, 20 tenants with tracing on.

For each setting (``--processes 1,2``) a scratch database is created on the PostgreSQL of
``--postgres`` (dropped afterwards), ``ragprism serve --workers N --parse-workers 0`` starts
on it with one ``ragprism worker`` for parsing (``--no-parse-worker``: the API processes
parse themselves), and 20 tenants are set up through the API: an account, an API key, a
dataset of one small parsed document, an assistant on the built-in models, a second
dataset that receives the uploads, and a Langfuse configuration (sample rate 1) on a
Langfuse test server in its own process. Nineteen share a healthy test server; the last
one's is a second test server that, once the keys are stored, holds every request
without answering (its ``hang`` fault; the server's export timeout, 5 s, applies).

Then a bounded asyncio client (one ``httpx.AsyncClient``, ``--concurrency`` workers each
sending one request at a time) runs for ``--seconds``. Each request picks a tenant at
random (the hung one included) and a route by weight: login, list datasets / documents /
chats, upload of a small text file, retrieval, plain and streamed completions, feedback
on an earlier answer of that tenant. Every response that is not HTTP 200 with code 0,
and every timeout or transport error, is an error.

Afterwards the client waits (``--final-wait``) until every trace id the server returned
(``X-Trace-Id`` or ``trace_id``) for the 19 healthy tenants has reached their Langfuse;
those that have not are lost. The hung tenant's exporter figures (spooled, dropped,
retried) come from its Langfuse status (``GET /api/v1/langfuse/api-key``); with two
processes each keeps its own counters, so the status is read on several new connections
and each distinct process's figures are shown. Then the hang is released and the hung
tenant's traces that arrive within ``--final-wait`` are counted.

Prints, per setting: requests/s, p50/p99 per route, errors, traces lost, the CPU time of
each server process; then the 2-process / 1-process ratios.

    .venv/bin/python bench/load.py                  # 60 s per setting, 16 workers
    .venv/bin/python bench/load.py --seconds 15     # quick mode (a smoke run)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from _common import FakeLangfuseProcess
from _live_server import DOCUMENTS, QUESTIONS, free_port, percentile
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ragprism.db.engine import normalise_url

POSTGRES = os.environ.get(
    "RAGPRISM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TENANTS = 20
ROUTES = {  # route → weight in the mix
    "login": 3,
    "list datasets": 8,
    "list documents": 8,
    "list chats": 8,
    "upload": 6,
    "retrieval": 17,
    "completion": 17,
    "completion stream": 17,
    "feedback": 10,
}
TRACED = ("retrieval", "completion", "completion stream")
PASSWORD = "bench-password"
UPLOAD = b"A small uploaded note about bees: they make honey in hives.\n" * 4


class BenchError(RuntimeError):
    """A response that is not HTTP 200 with code 0."""


def _data(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("code") != 0:
        raise BenchError(f"HTTP {response.status_code}: {response.text[:200]}")
    return body["data"]


@dataclass
class Tenant:
    name: str
    email: str
    api_key: str = ""
    dataset_id: str = ""
    uploads_id: str = ""
    chat_id: str = ""
    project: str = ""
    hung: bool = False
    answers: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=50))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {r: [] for r in ROUTES})
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, str] = field(default_factory=dict)
    traces: dict[str, set[str]] = field(default_factory=lambda: {"healthy": set(), "hung": set()})
    untraced: int = 0  # healthy tenants' traced-route answers without a trace id
    seconds: float = 0.0


# -- the servers ------------------------------------------------------------------------------


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new database on the server of ``admin_url``, dropped afterwards."""
    name = f"ragprism_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield make_url(normalise_url(admin_url)).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


class Cluster:
    """``ragprism serve --workers N`` (and a ``ragprism worker``) on one database."""

    def __init__(self, database_url: str, processes: int, parse_worker: bool) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="ragprism-load-")
        tmp = Path(self._tmp.name)
        cli = str(Path(sys.executable).with_name("ragprism"))
        env = {key: value for key, value in os.environ.items() if not key.startswith("RAGPRISM_")}
        env.update(
            RAGPRISM_DATABASE_URL=database_url,
            RAGPRISM_MASTER_KEY=Fernet.generate_key().decode(),  # shared by every process
            RAGPRISM_LANGFUSE_DEFAULT_HOST="",
            RAGPRISM_LANGFUSE_HOST_POLICY="any",  # the Langfuse test servers are on loopback
            RAGPRISM_PARSE_POLL_SECONDS="0.2",  # the worker is not woken by the API processes
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._procs: list[tuple[subprocess.Popen[bytes], Path]] = []
        serve = ["serve", "--port", str(self.port), "--workers", str(processes)]
        if parse_worker:
            serve.append("--parse-workers=0")
        self.api = self._start(cli, "api", serve, env, tmp)
        self.processes = processes
        if parse_worker:
            # The worker starts once the API process has migrated the database.
            self._wait_healthy(300)
            self._start(cli, "worker", ["worker"], env, tmp)
        self._wait_healthy(300)
        deadline = time.monotonic() + 300
        while processes > 1 and len(self.api_processes()) < processes:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{processes} server processes did not start:\n{self.logs()}")
            time.sleep(0.2)

    def _start(
        self, cli: str, name: str, args: list[str], env: dict[str, str], tmp: Path
    ) -> subprocess.Popen[bytes]:
        log_path = tmp / f"{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [cli, *args], env={**env, "RAGPRISM_DATA_DIR": str(tmp / name)}, cwd=tmp,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self._procs.append((proc, log_path))
        return proc

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if any(proc.poll() is not None for proc, _ in self._procs):
                raise RuntimeError(f"a process exited:\n{self.logs()}")
            try:
                if httpx.get(self.url + "/v1/system/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{self.logs()}")
            time.sleep(0.2)

    def api_processes(self) -> list[psutil.Process]:
        """The processes that answer requests (uvicorn's children with --workers > 1)."""
        parent = psutil.Process(self.api.pid)
        if self.processes == 1:
            return [parent]
        # The supervisor's other child is multiprocessing's resource tracker.
        return [p for p in parent.children() if "resource_tracker" not in " ".join(p.cmdline())]

    def cpu(self) -> list[float]:
        """CPU seconds (user + system) of each API process so far."""
        return [sum(p.cpu_times()[:2]) for p in self.api_processes()]

    def logs(self) -> str:
        return "\n".join(f"== {path.name}\n{path.read_text()[-4000:]}" for _, path in self._procs)

    def tracebacks(self) -> int:
        return sum(path.read_text().count("Traceback") for _, path in self._procs)

    def close(self) -> None:
        for proc, _ in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self._tmp.cleanup()


# -- setting up the tenants -------------------------------------------------------------------


async def _retrying(call: Any, what: str) -> Any:
    """``call()``'s data, retried while the server answers 429 (hashing slots busy)."""
    for _ in range(30):
        response = await call()
        if response.status_code != 429:
            return _data(response)
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
    raise BenchError(f"{what}: still 429 after 30 tries")


async def create_account(http: httpx.AsyncClient, tenant: Tenant) -> None:
    """Register, log in, make an API key and the datasets; upload the document and ask
    for it to be parsed."""
    account = {"email": tenant.email, "password": PASSWORD, "nickname": tenant.name}
    await _retrying(lambda: http.post("/v1/user/register", json=account), "register")
    login = await _retrying(lambda: http.post("/v1/user/login", json=account), "login")
    token = {"Authorization": login["access_token"]}
    tenant.api_key = _data(await http.post("/v1/system/new_token", headers=token))["token"]
    h = tenant.headers
    kb = _data(await http.post("/api/v1/datasets", json={"name": "kb"}, headers=h))
    uploads = _data(await http.post("/api/v1/datasets", json={"name": "uploads"}, headers=h))
    tenant.dataset_id, tenant.uploads_id = kb["id"], uploads["id"]
    files = [("file", ("notes.txt", "".join(DOCUMENTS.values()).encode(), "text/plain"))]
    url = f"/api/v1/datasets/{tenant.dataset_id}"
    (doc,) = _data(await http.post(f"{url}/documents", files=files, headers=h))
    _data(await http.post(f"{url}/chunks", json={"document_ids": [doc["id"]]}, headers=h))


async def connect(
    http: httpx.AsyncClient, tenant: Tenant, langfuse: FakeLangfuseProcess
) -> None:  # fmt: skip
    """Wait for the document to be parsed; make the assistant; store the Langfuse keys."""
    h = tenant.headers
    deadline = time.monotonic() + 900
    while True:
        url = f"/api/v1/datasets/{tenant.dataset_id}/documents"
        (doc,) = _data(await http.get(url, headers=h))["docs"]
        if doc["run"] == "DONE":
            break
        if doc["run"] == "FAIL" or time.monotonic() > deadline:
            raise BenchError(f"{tenant.name}: document not parsed: {doc}")
        await asyncio.sleep(0.5)
    chat = {"name": "assistant", "dataset_ids": [tenant.dataset_id]}
    tenant.chat_id = _data(await http.post("/api/v1/chats", json=chat, headers=h))["id"]
    public, secret = f"pk-{uuid.uuid4().hex}", f"sk-{uuid.uuid4().hex}"
    tenant.project = uuid.uuid4().hex[:12]
    await asyncio.to_thread(langfuse.add_project, public, secret, tenant.project)
    config = {
        "public_key": public, "secret_key": secret, "host": langfuse.url,
        "enabled": True, "sample_rate": 1.0,
    }  # fmt: skip
    _data(await http.put("/api/v1/langfuse/api-key", json=config, headers=h))


# -- the load ---------------------------------------------------------------------------------


def _trace_id(response: httpx.Response, data: Any) -> str | None:
    header = response.headers.get("X-Trace-Id")
    if header:
        return header
    if isinstance(data, dict) and data.get("trace_id"):
        return str(data["trace_id"])
    return None


async def _stream(http: httpx.AsyncClient, tenant: Tenant, question: str) -> tuple[str | None, Any]:
    """A streamed completion read to its end: the trace id and the closing event's data."""
    body = {"question": question, "stream": True}
    url = f"/api/v1/chats/{tenant.chat_id}/completions"
    final: Any = None
    trace_id: str | None = None
    async with http.stream("POST", url, json=body, headers=tenant.headers) as response:
        if response.status_code != 200:
            await response.aread()
            raise BenchError(f"HTTP {response.status_code}: {response.text[:200]}")
        trace_id = response.headers.get("X-Trace-Id")
        ended = False
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            if event.get("code") != 0:
                raise BenchError(f"stream event: {line[:200]}")
            if event["data"] is True:
                ended = True
            elif event["data"].get("final"):
                final = event["data"]
        if not ended or final is None:
            raise BenchError("stream ended without its closing events")
    return trace_id or (final.get("trace_id") if isinstance(final, dict) else None), final


async def one_request(http: httpx.AsyncClient, tenant: Tenant, route: str, n: int) -> str | None:
    """Send one request of ``route`` for ``tenant``; the trace id it returned, if any."""
    h = tenant.headers
    question = QUESTIONS[n % len(QUESTIONS)]
    if route == "login":
        account = {"email": tenant.email, "password": PASSWORD}
        _data(await http.post("/v1/user/login", json=account))
    elif route == "list datasets":
        _data(await http.get("/api/v1/datasets", headers=h))
    elif route == "list documents":
        _data(await http.get(f"/api/v1/datasets/{tenant.dataset_id}/documents", headers=h))
    elif route == "list chats":
        _data(await http.get("/api/v1/chats", headers=h))
    elif route == "upload":
        files = [("file", (f"note-{n}.txt", UPLOAD, "text/plain"))]
        url = f"/api/v1/datasets/{tenant.uploads_id}/documents"
        _data(await http.post(url, files=files, headers=h))
    elif route == "retrieval":
        body = {"question": question, "dataset_ids": [tenant.dataset_id]}
        response = await http.post("/api/v1/retrieval", json=body, headers=h)
        return _trace_id(response, _data(response))
    elif route == "completion":
        body = {"question": question, "stream": False}
        url = f"/api/v1/chats/{tenant.chat_id}/completions"
        response = await http.post(url, json=body, headers=h)
        data = _data(response)
        tenant.answers.append((data["session_id"], data["id"]))
        return _trace_id(response, data)
    elif route == "completion stream":
        trace_id, final = await _stream(http, tenant, question)
        tenant.answers.append((final["session_id"], final["id"]))
        return trace_id
    elif route == "feedback":
        session_id, message_id = random.choice(tenant.answers)  # warmed up: never empty
        url = f"/api/v1/chats/{tenant.chat_id}/sessions/{session_id}/messages/{message_id}/feedback"
        _data(await http.put(url, json={"thumbup": n % 2 == 0, "feedback": "bench"}, headers=h))
    return None


async def load(
    http: httpx.AsyncClient, tenants: list[Tenant], seconds: float, concurrency: int,
    results: Results,
) -> None:  # fmt: skip
    routes, weights = list(ROUTES), list(ROUTES.values())
    counter = iter(range(10**9))
    stop_at = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < stop_at:
            n = next(counter)
            tenant = random.choice(tenants)
            route = random.choices(routes, weights)[0]
            started = time.perf_counter()
            try:
                trace_id = await one_request(http, tenant, route, n)
            except (BenchError, httpx.HTTPError, ValueError, KeyError) as exc:
                results.errors[route] += 1
                results.error_samples.setdefault(route, f"{type(exc).__name__}: {exc}"[:300])
                continue
            results.latencies[route].append(time.perf_counter() - started)
            if trace_id:
                results.traces["hung" if tenant.hung else "healthy"].add(trace_id)
            elif route in TRACED and not tenant.hung:
                results.untraced += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    results.seconds = time.monotonic() - started


async def exporter_status(url: str, tenant: Tenant, reads: int) -> list[dict[str, Any]]:
    """The tenant's exporter figures, read on ``reads`` new connections (each process
    keeps its own counters); one entry per distinct answer, largest ``queued`` first."""
    seen: dict[tuple[int, ...], dict[str, Any]] = {}
    for _ in range(reads):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            status = _data(await http.get("/api/v1/langfuse/api-key", headers=tenant.headers))
        exporter: dict[str, Any] = status["status"]["exporter"]
        key = tuple(int(exporter[k]) for k in ("queued", "exported", "spooled", "dropped"))
        seen[key] = exporter
    return sorted(seen.values(), key=lambda e: -int(e["queued"]))


# -- one setting ------------------------------------------------------------------------------


def run_setting(args: argparse.Namespace, processes: int) -> dict[str, Any]:
    healthy_lf, hung_lf = FakeLangfuseProcess(), FakeLangfuseProcess()
    try:
        with scratch_database(args.postgres) as database_url:
            cluster = Cluster(database_url, processes, args.parse_worker)
            try:
                return asyncio.run(_run(args, cluster, healthy_lf, hung_lf))
            finally:
                hung_lf.clear_faults()
                cluster.close()
    finally:
        healthy_lf.close()
        hung_lf.close()


async def _run(
    args: argparse.Namespace, cluster: Cluster, healthy_lf: FakeLangfuseProcess,
    hung_lf: FakeLangfuseProcess,
) -> dict[str, Any]:  # fmt: skip
    run = uuid.uuid4().hex[:6]
    tenants = [Tenant(f"t{i}", f"load-{run}-{i}@example.com") for i in range(TENANTS)]
    tenants[-1].hung = True
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with httpx.AsyncClient(base_url=cluster.url, timeout=args.timeout, limits=limits) as http:
        began = time.monotonic()
        gate = asyncio.Semaphore(4)  # the server hashes 4 passwords at a time per process

        async def account(tenant: Tenant) -> None:
            async with gate:
                await create_account(http, tenant)

        await asyncio.gather(*(account(t) for t in tenants))
        accounts_done = time.monotonic()
        await asyncio.gather(
            *(connect(http, t, hung_lf if t.hung else healthy_lf) for t in tenants)
        )
        parsed = time.monotonic()
        hung_lf.hang()  # from now on the last tenant's Langfuse answers nothing
        # Every process reloads the configurations within RAGPRISM_TRACE_CONFIG_REFRESH_SECONDS.
        await asyncio.sleep(3)
        for n, tenant in enumerate(tenants):  # warm-up: a few answers to give feedback on
            for route in ("completion", "completion stream", "retrieval"):
                await one_request(http, tenant, route, n)
        print(f"  {processes_label(cluster.processes)}: accounts in {accounts_done - began:.0f} s, "
              f"documents parsed {parsed - accounts_done:.0f} s later, warm-up "
              f"{time.monotonic() - parsed:.0f} s", flush=True)  # fmt: skip
        results = Results()
        cpu_before = cluster.cpu()
        load_before = os.getloadavg()[0]
        client_cpu = time.process_time()
        await load(http, tenants, args.seconds, args.concurrency, results)
        client_cpu = time.process_time() - client_cpu
        cpu = [after - before for after, before in zip(cluster.cpu(), cpu_before, strict=True)]
        load_after = os.getloadavg()[0]

    # Traces: every healthy tenant's returned trace id must reach its Langfuse.
    wanted = results.traces["healthy"]
    deadline = time.monotonic() + args.final_wait
    waited_from = time.monotonic()
    while True:
        _, received = await asyncio.to_thread(healthy_lf.span_ids)
        lost = wanted - received.keys()
        if not lost or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    all_arrived_in = time.monotonic() - waited_from
    hung = tenants[-1]
    hung_status = await exporter_status(cluster.url, hung, reads=4 * cluster.processes)
    hung_requests = await asyncio.to_thread(hung_lf.hanging)
    hung_lf.clear_faults()  # released: what the exporter delivers from its spool now
    deadline = time.monotonic() + args.final_wait
    while True:
        _, hung_received = await asyncio.to_thread(hung_lf.span_ids)
        recovered = results.traces["hung"] & hung_received.keys()
        if recovered == results.traces["hung"] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    return {
        "processes": cluster.processes, "results": results, "lost": len(lost),
        "lost_sample": sorted(lost)[:3], "arrived_in": all_arrived_in,
        "hung_status": hung_status, "hung_requests": hung_requests,
        "hung_recovered": len(recovered), "cpu": cpu, "client_cpu": client_cpu,
        "load": (load_before, load_after), "tracebacks": cluster.tracebacks(),
    }  # fmt: skip


def processes_label(n: int) -> str:
    return f"{n} server process{'es' if n > 1 else ''}"


# -- report -----------------------------------------------------------------------------------


def report(outcome: dict[str, Any], args: argparse.Namespace) -> None:
    results: Results = outcome["results"]
    total = sum(len(v) for v in results.latencies.values())
    errors = sum(results.errors.values())
    print(f"\n{processes_label(outcome['processes'])}: {total + errors} requests in "
          f"{results.seconds:.1f} s = {total / results.seconds:.1f} requests/s "
          f"(concurrency {args.concurrency}); load average {outcome['load'][0]:.1f} → "
          f"{outcome['load'][1]:.1f}")  # fmt: skip
    print(f"{'route':20}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    for route, values in results.latencies.items():
        print(f"{route:20}{len(values):>7}{percentile(values, 50) * 1e3:>10.1f}"
              f"{percentile(values, 99) * 1e3:>10.1f}{results.errors[route]:>8}")  # fmt: skip
    print(f"errors: {errors} (goal 0)")
    for route, sample in results.error_samples.items():
        print(f"  {route}: {sample}")
    healthy = results.traces["healthy"]
    print(f"traces of the 19 healthy tenants: {len(healthy)} returned, {outcome['lost']} lost "
          f"(goal 0){' e.g. ' + ', '.join(outcome['lost_sample']) if outcome['lost'] else ''}; "
          f"all arrived {outcome['arrived_in']:.1f} s after the load; traced answers without "
          f"a trace id: {results.untraced}")  # fmt: skip
    print(f"hung tenant: {len(results.traces['hung'])} traces returned, "
          f"{outcome['hung_requests']} requests held by its Langfuse at the end; "
          f"{outcome['hung_recovered']} delivered within {args.final_wait:.0f} s of "
          "the release")  # fmt: skip
    for i, exporter in enumerate(outcome["hung_status"]):
        print(f"  status (process answer {i + 1}): queued {exporter['queued']}, exported "
              f"{exporter['exported']}, retried {exporter['retried']}, spooled "
              f"{exporter['spooled']}, dropped {exporter['dropped']}, pending "
              f"{exporter['pending']}, spool {exporter['spool']['items']} items")  # fmt: skip
    cpu = ", ".join(f"{c:.1f}" for c in outcome["cpu"])
    print(f"CPU seconds during the load: server process(es) {cpu} "
          f"({total / sum(outcome['cpu']):.1f} requests per server CPU second); this client "
          f"{outcome['client_cpu']:.1f}; tracebacks in the server logs: "
          f"{outcome['tracebacks']}")  # fmt: skip


def ratios(first: dict[str, Any], second: dict[str, Any]) -> None:
    a, b = first["results"], second["results"]

    def rate(r: Results) -> float:
        return sum(len(v) for v in r.latencies.values()) / r.seconds

    print(f"\nratio {second['processes']} processes / {first['processes']}: requests/s "
          f"{rate(b) / rate(a):.2f}")  # fmt: skip
    print(f"{'route':20}{'p50 ratio':>11}{'p99 ratio':>11}")
    for route in ROUTES:
        x, y = a.latencies[route], b.latencies[route]
        print(f"{route:20}{percentile(y, 50) / percentile(x, 50):>11.2f}"
              f"{percentile(y, 99) / percentile(x, 99):>11.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load per setting")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent client workers")
    parser.add_argument("--processes", default="1,2", help="server processes per setting")
    parser.add_argument("--postgres", default=POSTGRES, help="admin URL of the PostgreSQL")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument(
        "--final-wait", type=float, default=30.0, help="seconds to wait for the last traces"
    )
    parser.add_argument(
        "--parse-worker", action=argparse.BooleanOptionalAction, default=True,
        help="parse in a `ragprism worker` (the API processes run --parse-workers 0)",
    )  # fmt: skip
    args = parser.parse_args()
    load_avg = os.getloadavg()
    print(f"load average before the run: {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f} "
          f"on {os.cpu_count()} CPUs; {TENANTS} tenants (1 with a hung Langfuse), "
          f"{args.seconds:.0f} s per setting, concurrency {args.concurrency}")  # fmt: skip
    outcomes = []
    for n in (int(p) for p in args.processes.split(",")):
        outcome = run_setting(args, n)
        report(outcome, args)
        outcomes.append(outcome)
    outcomes.sort(key=lambda outcome: int(outcome["processes"]))
    if len(outcomes) > 1 and outcomes[0]["processes"] != outcomes[-1]["processes"]:
        ratios(outcomes[0], outcomes[-1])


if __name__ == "__main__":
    main()
