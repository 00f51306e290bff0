"""Lookup latency over HTTP: `fixedit serve` in its own process, concurrent clients in this one.

Used by `bench.lookup` (see its docstring); runnable on an existing store too:

    python -m bench.lookup_http --database-url sqlite:////tmp/store.sqlite --clients 16

The server is the real command (`python -m fixedit.cli serve`) on a free localhost port, with a
config that points at the store, lifts the per-key rate limit out of the way and runs
``[api] workers`` = `WORKERS` processes (one per core of the two-core machine the target is
set for; ``--workers`` changes it); a read key is made in the store first. The server builds its
index before it listens, so the timings below start after that.

The load: `clients` closed-loop clients, each on its own keep-alive HTTP/1.1 TCP connection,
each sending its next ``POST /v1/lookup`` only once its previous answer is read in full and its
JSON parsed; the time of a request runs from writing it to the parsed JSON (what a caller
waits for). The bodies go in turn through the query list. The clients are coroutines in one
asyncio event loop writing prebuilt request bytes and reading the answer by its Content-Length:
a thread per client with a full HTTP client library (httpx) spent about 2 ms of CPU per request
in this process (this one: about 0.6) and, on a small machine, contended for the GIL and the
cores with the server it was measuring, so the latency it reported was partly its own. The
server's (all its processes) and this process's CPU time per request are reported beside the
latency, so that a slow run can be told apart: a server short of CPU, or a client that is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

import store
from store.keys import create_key

WORKERS = 2
"""Server processes, one per core of the machine the HTTP target is set for."""
READY_TIMEOUT = 900.0
"""Seconds to wait for the server to build its index and listen (1M rows take minutes)."""
_HEAD_END = b"\r\n\r\n"


@dataclass
class HttpTimings:
    """Milliseconds per answered request, what went wrong otherwise, and the CPU spent."""

    times: list[float] = field(default_factory=list)
    answered: int = 0
    failed: int = 0
    confident: int = 0
    seconds: float = 0.0
    """Wall time of the run."""
    server_cpu_ms: float = 0.0
    """The server process's CPU time (user + system) over the run, per request."""
    client_cpu_ms: float = 0.0
    """This process's CPU time over the run, per request."""


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def measure(
    engine: sa.Engine,
    texts: Sequence[str],
    *,
    clients: int = 16,
    requests: int = 2_000,
    warmup: int = 64,
    workers: int = WORKERS,
) -> HttpTimings:
    """Serve the store behind `engine` and time `requests` lookups from `clients` clients."""
    with store.session_scope(engine) as session:
        secret = create_key(session, scope="read", name="bench.lookup_http").secret
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lookup-http-") as folder:
        config = Path(folder) / "config.toml"
        config.write_text(
            f'database_url = "{engine.url.render_as_string(hide_password=False)}"\n'
            'log_level = "WARNING"\n\n[api]\n'
            f"port = {port}\nrate_limit_per_minute = 1000000\nrate_limit_burst = 1000000\n"
            f"refresh_seconds = 5\nworkers = {workers}\n",
            encoding="utf-8",
        )
        env = {**os.environ, "FIXEDIT_CONFIG": str(config)}
        log = (Path(folder) / "server.log").open("wb")  # a file: a full pipe would stall it
        server = subprocess.Popen([sys.executable, "-m", "fixedit.cli", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait_ready(server, f"http://127.0.0.1:{port}", Path(folder) / "server.log")
            bodies = [_request(port, secret, text) for text in texts]
            asyncio.run(_run(port, bodies[:warmup], clients, warmup))
            server_cpu, client_cpu = _cpu_seconds(server.pid), time.process_time()
            timings = asyncio.run(_run(port, bodies, clients, requests))
            served = max(1, timings.answered + timings.failed)
            timings.server_cpu_ms = (_cpu_seconds(server.pid) - server_cpu) * 1000 / served
            timings.client_cpu_ms = (time.process_time() - client_cpu) * 1000 / served
            return timings
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()


def _wait_ready(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            stderr = log.read_text(encoding="utf-8", errors="replace")
            raise RuntimeError(f"fixedit serve exited with {server.returncode}: {stderr[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"fixedit serve was not ready within {READY_TIMEOUT:.0f} s")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds so far of process `pid` and its live child processes (the
    server's workers), from Linux's /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            seconds += _cpu_seconds(int(child))
    return seconds


def _request(port: int, secret: str, text: str) -> bytes:
    """The whole ``POST /v1/lookup`` request for `text`, as it goes on the wire."""
    body = json.dumps({"title": text[:200], "limit": 10}).encode()
    head = (f"POST /v1/lookup HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {secret}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _run(port: int, bodies: Sequence[bytes], clients: int, requests: int) -> HttpTimings:
    timings = HttpTimings()
    turns = iter(range(requests))
    started = time.perf_counter()
    await asyncio.gather(*(_client(port, bodies, turns, timings) for _ in range(clients)))
    timings.seconds = time.perf_counter() - started
    return timings


async def _client(port: int, bodies: Sequence[bytes], turns: Iterator[int],
                  timings: HttpTimings) -> None:
    """One closed-loop client: a request, its whole answer parsed, then the next request."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for n in turns:
            started = time.perf_counter()
            try:
                writer.write(bodies[n % len(bodies)])
                status, answer = await _answer(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                timings.failed += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                timings.failed += 1
                continue
            timings.times.append(elapsed)
            timings.answered += bool(answer.get("matches"))
            timings.confident += any(m.get("confident") for m in answer["matches"])
    finally:
        writer.close()


async def _answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, object]]:
    """The status and parsed JSON body of one HTTP/1.1 answer with a Content-Length."""
    head = await reader.readuntil(_HEAD_END)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                   if line[:15].lower() == "content-length:"), None)
    if length is None:
        raise ValueError("an answer without Content-Length")
    return status, json.loads(await reader.readexactly(length))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lookup_http", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="the store to serve")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=WORKERS, help="server processes")
    args = parser.parse_args(argv)
    engine = store.make_engine(args.database_url)
    with store.session_scope(engine) as session:
        texts = [hit.resolution.title.text for hit in
                 store.search_resolutions(session, query="error failed not working", limit=200)]
    timings = measure(engine, texts or ["printer offline"], clients=args.clients,
                      requests=args.requests, workers=args.workers)
    print(summary(timings, args.clients))
    return 0 if timings.failed == 0 else 1


def summary(timings: HttpTimings, clients: int) -> str:
    """One line: the latency quantiles, throughput and CPU per request of a run."""
    ordered = sorted(timings.times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")
    rate = len(ordered) / timings.seconds if timings.seconds else float("nan")
    return (f"{clients} clients, {len(ordered)} answered requests, {timings.failed} failed: "
            f"p50 {statistics.median(ordered) if ordered else float('nan'):.1f} ms, "
            f"p99 {p99:.1f} ms, {rate:.0f} requests/s; CPU per request: server "
            f"{timings.server_cpu_ms:.2f} ms, client {timings.client_cpu_ms:.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
