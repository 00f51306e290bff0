"""Run the sandbox: uvicorn in a daemon thread on 127.0.0.1, and the config that points at it.

    with Sandbox(["connectwise"]) as sandbox:
        sandbox.faults.add(FaultRule(kind="status", status=429, path="/service/tickets"))
        ...sync from sandbox.source_tables() with sandbox.secret_env() in the environment...

`serve_forever` is what `fixedit sandbox` runs: the same server, in the foreground, until
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from connectors.sandbox.base import FIXTURES, VENDORS, Emulation
from connectors.sandbox.faults import FaultPlan
from connectors.sandbox.registry import emulation_class
from connectors.sandbox.server import create_app
from connectors.settings import secret_env_name

log = logging.getLogger(__name__)

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0


class Sandbox:
    """The sandbox server for some vendors, started on enter and stopped on exit."""

    def __init__(
        self,
        vendors: Iterable[str] = VENDORS,
        *,
        fixtures: Path = FIXTURES,
        scale: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        emulations: Mapping[str, Emulation] | None = None,
    ) -> None:
        """Load each vendor's emulation from `fixtures/<vendor>/` (or serve `emulations` as
        given, keyed by vendor); nothing listens until `start()` or `with`.

        Emulations are handed the fixtures root and read their own `<vendor>/` folder in it.
        """
        if emulations is None:
            emulations = {vendor: emulation_class(vendor)(fixtures, scale=scale)
                          for vendor in dict.fromkeys(vendors)}
        self._emulations: dict[str, Emulation] = dict(emulations)
        self.vendors = tuple(self._emulations)
        if not self.vendors:
            raise ValueError("a sandbox needs at least one vendor")
        self.host = host
        self.faults = FaultPlan()
        self.app = create_app(self._emulations, self.faults)
        self._requested_port = port
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server thread is up and serving."""
        return bool(self._server and self._server.started and self._thread
                    and self._thread.is_alive())

    @property
    def port(self) -> int:
        """The TCP port being served (known once started)."""
        if self._port is None:
            raise RuntimeError("the sandbox is not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. http://127.0.0.1:51234."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def base_url(self, vendor: str) -> str:
        """Root URL of one vendor's emulated API."""
        return self.url + self.emulation(vendor).prefix.rstrip("/")

    def emulation(self, vendor: str) -> Emulation:
        """The live emulation of `vendor` (mutate it to change what clients see)."""
        try:
            return self._emulations[vendor]
        except KeyError:
            raise KeyError(f"this sandbox serves {', '.join(self.vendors)}, not {vendor!r}"
                           ) from None

    def stats(self) -> dict[str, Any]:
        """Request counts per vendor, endpoint and status, and faults fired by kind."""
        return {**self.app.state.stats.snapshot(), "faults_fired": self.faults.fired()}

    def reset_stats(self) -> None:
        """Forget the request counts (e.g. between a full and an incremental sync)."""
        self.app.state.stats.reset()

    def source_tables(self) -> list[dict[str, object]]:
        """One `[[sources]]` table per vendor (as dicts), named and kinded after the vendor.

        Each emulation's `source_config` is handed the server's root URL and adds its prefix.
        """
        tables = []
        for vendor in self.vendors:
            config = self.emulation(vendor).source_config(self.url)
            tables.append({"name": vendor, **config, "kind": vendor})
        return tables

    def secret_env(self) -> dict[str, str]:
        """Environment variables holding the sources' (fake) secrets, by name."""
        return {
            secret_env_name(vendor, field): value
            for vendor in self.vendors
            for field, value in self.emulation(vendor).secrets().items()
        }

    def start(self) -> None:
        """Bind the port, start uvicorn in a daemon thread, and wait until it serves."""
        if self._thread is not None:
            raise RuntimeError("the sandbox is already started")
        sock = _bind(self.host, self._requested_port)
        self._socket = sock
        self._port = sock.getsockname()[1]
        # log_config=None: handlers belong to the shell; uvicorn only gets its logger levels set.
        config = uvicorn.Config(self.app, log_level="warning", log_config=None,
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"fixedit-sandbox-{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox server did not start on port {self._port}")
            time.sleep(0.01)
        log.info("sandbox serving %s on %s", ", ".join(self.vendors), self.url)

    def stop(self) -> None:
        """Stop the server and wait (a few seconds at most) for its thread to end."""
        server, thread = self._server, self._thread
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive():  # open keep-alive connections: do not wait for them
                server.force_exit = True
                thread.join(_STOP_TIMEOUT)
            if thread.is_alive():
                log.warning("sandbox server thread on port %s did not stop", self._port)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return json.dumps(f"{int(value.total_seconds())}s")
    if isinstance(value, str | Path):
        return json.dumps(str(value))  # a JSON string is a valid TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{_toml_key(key)} = {_toml_value(item)}"
                          for key, item in value.items() if item is not None)
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_key(key: object) -> str:
    text = str(key)
    return text if text.replace("_", "").replace("-", "").isalnum() else json.dumps(text)


def render_sources_toml(tables: Iterable[Mapping[str, object]]) -> str:
    """`[[sources]]` tables as TOML text; nested mappings become `[sources.<key>]` sub-tables."""
    blocks = []
    for table in tables:
        lines = ["[[sources]]"]
        nested = []
        for key, value in table.items():
            if value is None:
                continue
            if isinstance(value, Mapping):
                nested.append((key, value))
            else:
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        for key, value in nested:
            lines.append(f"[sources.{_toml_key(key)}]")
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()
                      if v is not None]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def config_snippet(sandbox: Sandbox) -> str:
    """The `[[sources]]` TOML that syncs from `sandbox`, with the env vars to export as comments."""
    exports = "\n".join(f"#   export {name}={value}"
                        for name, value in sandbox.secret_env().items())
    header = f"# Sources served by the fixedit sandbox at {sandbox.url}\n"
    footer = ("\n# Secrets come from the environment only (these are the sandbox's fake ones):\n"
              f"{exports}\n") if exports else ""
    return header + render_sources_toml(sandbox.source_tables()) + footer


def serve_forever(
    *,
    vendors: Iterable[str] = VENDORS,
    port: int = 8765,
    scale: int = 1,
    fixtures: Path = FIXTURES,
    host: str = "127.0.0.1",
    on_ready: Callable[[Sandbox], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve the sandbox until Ctrl-C, SIGTERM or `stop` is set; `on_ready` runs once it serves.

    This is `fixedit sandbox`: the CLI prints `sandbox.url` and `config_snippet(sandbox)` from
    `on_ready`.
    """
    stop = stop or threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    previous: Any = None

    def _on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    with Sandbox(vendors, fixtures=fixtures, scale=scale, host=host, port=port) as sandbox:
        if on_ready is not None:
            on_ready(sandbox)
        if in_main:
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            while not stop.wait(0.2):
                if not sandbox.running:
                    raise RuntimeError("the sandbox server stopped unexpectedly")
        except KeyboardInterrupt:
            log.info("sandbox stopping (interrupted)")
        finally:
            if in_main:
                signal.signal(signal.SIGTERM, previous)
