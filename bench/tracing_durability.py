"""Benchmark 5: traces delivered through a 30 s Langfuse outage and server restarts.

10,000 traced requests (``POST /api/v1/retrieval``, 4 spans each) go through the real
server (``ragprism serve``, SQLite, one process) from 4 client threads. The Langfuse test
server runs in a child process. After 2,000 traces Langfuse answers 503 for 30 s. While
it is down the server is restarted twice on the same data directory, under load:
gracefully (SIGTERM) 10 s into the outage, and with ``kill -9`` 20 s in. Before the
``kill -9`` the load pauses until the server's status shows every span in the spool (what
is only in memory when a process is killed is lost by definition; see docs/tracing.md).
Then Langfuse recovers, the load finishes, and the spans Langfuse received are counted:
per trace id returned by the responses, distinct span ids, and duplicates.

    .venv/bin/python bench/tracing_durability.py [--traces 10000] [--outage 30]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from _common import FakeLangfuseProcess

SPANS_PER_TRACE = 4  # ragflow-retrieval → retrieval → embed-query, search
CLIENTS = 4


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``ragprism serve`` on one data directory and port; stopped and started again."""

    def __init__(self, data_dir: Path, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        env = {key: value for key, value in os.environ.items() if not key.startswith("RAGPRISM_")}
        env.update(
            RAGPRISM_DATA_DIR=str(data_dir),
            RAGPRISM_LANGFUSE_DEFAULT_HOST="",
            # The fake Langfuse listens on loopback, which the default host policy refuses.
            RAGPRISM_LANGFUSE_HOST_POLICY="any",
        )
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> float:
        """Start and wait until healthy; returns the seconds that took."""
        started = time.monotonic()
        self.runs += 1
        log_path = self.log_dir / f"server-{self.runs}.log"
        cli = Path(sys.executable).with_name("ragprism")
        with log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(cli), "serve", "--port", str(self.port)],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        while True:
            try:
                if httpx.get(self.url + "/v1/system/healthz").status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() - started > 90:
                raise RuntimeError(f"server did not start:\n{log_path.read_text()}")
            time.sleep(0.05)

    def stop(self, sig: signal.Signals) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(60)
        self.proc = None
        return code


class Load:
    """``CLIENTS`` threads sending traced requests until ``total`` traces were answered."""

    def __init__(self, server: Server, api_key: str, dataset_id: str, total: int) -> None:
        self.server, self.api_key, self.dataset_id, self.total = server, api_key, dataset_id, total
        self.trace_ids: list[str] = []
        self.errors = 0  # requests retried because the server was restarting
        self.lock = threading.Lock()
        self.running = threading.Event()
        self.running.set()
        self.waiting = 0  # threads parked by pause(), or finished
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def produced(self) -> int:
        with self.lock:
            return len(self.trace_ids)

    def pause(self) -> None:
        """Stop sending and wait until no request is in flight."""
        self.running.clear()
        while True:
            with self.lock:
                if self.waiting == len(self.threads):
                    return
            time.sleep(0.01)

    def resume(self) -> None:
        with self.lock:
            self.waiting -= sum(1 for thread in self.threads if thread.is_alive())
        self.running.set()

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        http = httpx.Client(base_url=self.server.url, headers=headers, timeout=60)
        n = 0
        while True:
            if not self.running.is_set():
                with self.lock:
                    self.waiting += 1
                self.running.wait()
            with self.lock:
                if len(self.trace_ids) >= self.total:
                    self.waiting += 1
                    break
            body = {"question": f"what about item {n}?", "dataset_ids": [self.dataset_id]}
            try:
                response = http.post("/api/v1/retrieval", json=body)
                trace_id = response.json()["data"]["trace_id"]
            except (httpx.TransportError, ValueError, KeyError, TypeError):
                with self.lock:
                    self.errors += 1
                http.close()
                http = httpx.Client(base_url=self.server.url, headers=headers, timeout=60)
                time.sleep(0.05)
                continue
            n += 1
            with self.lock:
                if len(self.trace_ids) < self.total:
                    self.trace_ids.append(trace_id)
        http.close()


def ok(response: httpx.Response) -> Any:
    body = response.json()
    if body.get("code") != 0:
        raise RuntimeError(f"{response.request.url}: {response.text}")
    return body["data"]


def exporter(http: httpx.Client) -> dict[str, Any]:
    status: dict[str, Any] = ok(http.get("/api/v1/langfuse/api-key"))["status"]["exporter"]
    return status


def poll(condition: Any, what: str, timeout: float = 300.0) -> float:
    """Wait until ``condition()``; returns the seconds waited."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{what}: not reached within {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--outage", type=float, default=30.0, help="seconds of 503s")
    args = parser.parse_args()

    langfuse = FakeLangfuseProcess()
    public, secret, project = f"pk-{uuid.uuid4().hex}", f"sk-{uuid.uuid4().hex}", "durability"
    langfuse.add_project(public, secret, project)
    tmp = tempfile.TemporaryDirectory(prefix="ragprism-durability-")
    server = Server(Path(tmp.name) / "data", Path(tmp.name))
    try:
        server.start()
        http = httpx.Client(base_url=server.url, timeout=60)
        account = {"email": "durable@example.com", "password": "bench-password", "nickname": "d"}
        ok(http.post("/v1/user/register", json=account))
        token = ok(http.post("/v1/user/login", json=account))["access_token"]
        api_key = ok(http.post("/v1/system/new_token", headers={"Authorization": token}))["token"]
        http.headers["Authorization"] = f"Bearer {api_key}"
        dataset_id = ok(http.post("/api/v1/datasets", json={"name": "kb"}))["id"]
        keys = {"public_key": public, "secret_key": secret, "host": langfuse.url}
        ok(http.put("/api/v1/langfuse/api-key", json=keys))

        load = Load(server, api_key, dataset_id, args.traces)
        began = time.monotonic()
        load.start()
        poll(lambda: load.produced() >= args.traces // 5, "first fifth of the traces")
        langfuse.status(503, "otel")
        outage_start = time.monotonic()
        at_outage = load.produced()
        print(f"outage (503) from trace {at_outage:,}, {outage_start - began:.1f} s in")

        time.sleep(max(0.0, outage_start + args.outage / 3 - time.monotonic()))
        at_term = load.produced()
        code = server.stop(signal.SIGTERM)  # under load: clients retry while it is down
        downtime = server.start()
        print(f"SIGTERM restart at trace {at_term:,} (exit {code}, back in {downtime:.1f} s)")

        time.sleep(max(0.0, outage_start + 2 * args.outage / 3 - time.monotonic()))
        load.pause()
        at_kill = load.produced()
        spooled_wait = poll(
            lambda: (s := exporter(http))["pending"] == 0 and s["spooled"] == s["queued"],
            "every span of the running process in the spool",
        )
        spool_before = exporter(http)["spool"]
        server.stop(signal.SIGKILL)
        downtime = server.start()
        load.resume()
        print(
            f"kill -9 restart at trace {at_kill:,} (spool absorbed the last spans in "
            f"{spooled_wait:.1f} s; {spool_before['items']:,} spans in "
            f"{spool_before['batches']} batches on disk; back in {downtime:.1f} s)"
        )

        time.sleep(max(0.0, outage_start + args.outage - time.monotonic()))
        langfuse.clear_faults()
        recovered = time.monotonic()
        at_recovery = load.produced()
        backlog = exporter(http)["spool"]
        print(
            f"Langfuse back at trace {at_recovery:,}, {recovered - outage_start:.1f} s after "
            f"the outage began; spool: {backlog['items']:,} spans in {backlog['batches']} batches"
        )
        drain = poll(lambda: exporter(http)["spool"]["batches"] == 0, "spool drained")
        load.join()
        produced_by = time.monotonic()
        expected = args.traces * SPANS_PER_TRACE
        poll(lambda: langfuse.count(project) >= expected, "every span delivered", 120)
        poll(lambda: (s := exporter(http))["pending"] == 0 and s["spool"]["batches"] == 0, "idle")
        time.sleep(2.0)  # let any late duplicate arrive before counting
        all_in = time.monotonic()
        status = exporter(http)
        received, per_trace = langfuse.span_ids()
    finally:
        if server.proc is not None:
            server.stop(signal.SIGTERM)
        langfuse.close()
        tmp.cleanup()

    trace_ids = load.trace_ids
    distinct = sum(per_trace.values())
    complete = sum(1 for t in trace_ids if per_trace.get(t, 0) == SPANS_PER_TRACE)
    missing = sum(1 for t in trace_ids if t not in per_trace)
    partial = len(trace_ids) - complete - missing
    unknown = len(set(per_trace) - set(trace_ids))
    duplicated = received - distinct
    print()
    print(f"traces answered: {len(trace_ids):,} ({load.errors} requests retried during restarts)")
    print(f"load: {produced_by - began:.1f} s; everything delivered {all_in - began:.1f} s in")
    print(f"time to drain the spool after recovery: {drain:.1f} s")
    print(
        f"delivered: {complete:,} / {len(trace_ids):,} traces complete "
        f"({100 * complete / len(trace_ids):.2f}%), {distinct:,} distinct spans"
    )
    print(f"duplicated: {duplicated} spans received more than once")
    print(f"dropped: {missing} traces missing, {partial} incomplete")
    print(f"traces not answered to a client (request lost in a restart): {unknown}")
    print(f"server counters after the last restart: dropped {status['dropped']}")
    if complete != len(trace_ids) or duplicated:
        sys.exit(1)


if __name__ == "__main__":
    main()
