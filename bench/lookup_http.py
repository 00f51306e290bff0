"""Lookup latency over HTTP: `fixedit serve` in its own process, concurrent clients in this one.

Used by `bench.lookup` (see its docstring); runnable on an existing store too:

    python -m bench.lookup_http --database-url sqlite:////tmp/store.sqlite --clients 16

The server is the real command (`python -m fixedit.cli serve`) on a free localhost port, with a
config that points at the store and lifts the per-key rate limit out of the way; an admin key is
made in the store first. The server builds its index before it listens, so the timings below
start after that. Each client is a thread with its own keep-alive `httpx.Client` sending
``POST /v1/lookup`` bodies taken in turn from the query list; the time of each request is from
sending to the parsed JSON answer (what a caller waits for).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa

import store
from store.keys import create_key

READY_TIMEOUT = 900.0
"""Seconds to wait for the server to build its index and listen (1M rows take minutes)."""


@dataclass
class HttpTimings:
    """Milliseconds per answered request, and what went wrong otherwise."""

    times: list[float] = field(default_factory=list)
    answered: int = 0
    failed: int = 0
    confident: int = 0


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
) -> HttpTimings:
    """Serve the store behind `engine` and time `requests` lookups from `clients` threads."""
    with store.session_scope(engine) as session:
        secret = create_key(session, scope="read", name="bench.lookup_http").secret
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lookup-http-") as folder:
        config = Path(folder) / "config.toml"
        config.write_text(
            f'database_url = "{engine.url.render_as_string(hide_password=False)}"\n'
            'log_level = "WARNING"\n\n[api]\n'
            f"port = {port}\nrate_limit_per_minute = 1000000\nrate_limit_burst = 1000000\n"
            "refresh_seconds = 5\n",
            encoding="utf-8",
        )
        env = {**os.environ, "FIXEDIT_CONFIG": str(config)}
        log = (Path(folder) / "server.log").open("wb")  # a file: a full pipe would stall it
        server = subprocess.Popen([sys.executable, "-m", "fixedit.cli", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_ready(server, base, Path(folder) / "server.log")
            headers = {"Authorization": f"Bearer {secret}"}
            _run(base, headers, texts[:warmup], clients, warmup)
            return _run(base, headers, texts, clients, requests)
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


def _run(base: str, headers: dict[str, str], texts: Sequence[str], clients: int,
         requests: int) -> HttpTimings:
    timings = HttpTimings()
    lock = threading.Lock()
    counter = iter(range(requests))

    def client() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                body = {"title": texts[n % len(texts)][:200], "limit": 10}
                started = time.perf_counter()
                try:
                    response = http.post("/v1/lookup", json=body)
                    answer = response.json() if response.status_code == 200 else None
                except httpx.HTTPError:
                    answer = None
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    if answer is None:
                        timings.failed += 1
                        continue
                    timings.times.append(elapsed)
                    timings.answered += bool(answer.get("matches"))
                    timings.confident += any(m.get("confident") for m in answer["matches"])

    threads = [threading.Thread(target=client, name=f"client-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lookup_http", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="the store to serve")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args(argv)
    engine = store.make_engine(args.database_url)
    with store.session_scope(engine) as session:
        texts = [hit.resolution.title.text for hit in
                 store.search_resolutions(session, query="error failed not working", limit=200)]
    timings = measure(engine, texts or ["printer offline"], clients=args.clients,
                      requests=args.requests)
    ordered = sorted(timings.times)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")
    print(f"{args.clients} clients, {len(ordered)} answered requests, {timings.failed} failed: "
          f"p50 {statistics.median(ordered) if ordered else float('nan'):.1f} ms, "
          f"p99 {p99:.1f} ms")
    return 0 if timings.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
