"""`fixedit serve` (the REST API under uvicorn) and `fixedit keys create|list|revoke`.

Registered in fixedit/cli.py. The commands read settings and the engine through the CLI's
context object (``ctx.obj``: `settings()` and `engine(settings)`), like every other command.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Column, Table

import store
from records import ConfigError
from store.keys import ApiKey, create_key, list_keys, revoke_key
from store.tables import API_SCOPES

out = Console()
err = Console(stderr=True)

keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Interface to listen on. Default: [api] host.")
                    ] = None,
    port: Annotated[int | None, typer.Option(help="Port. Default: [api] port.", min=1,
                                             max=65535)] = None,
    workers: Annotated[int | None, typer.Option(
        help="Server processes sharing the port. Default: [api] workers.", min=1, max=64)
                       ] = None,
) -> None:
    """Serve the REST API (lookup, resolutions, feedback, metrics; OpenAPI at /docs).

    Every route but /health needs an API key: make one with `fixedit keys create`.
    """
    import uvicorn

    from fixedit.app import ready_app

    settings = ctx.obj.settings()
    chosen_host = host or settings.api.host
    chosen_port = port or settings.api.port
    processes = workers or settings.api.workers
    engine = ctx.obj.engine(settings)
    app = ready_app(settings, engine=engine)
    try:
        socks = _listen(chosen_host, chosen_port, processes)
    except OSError as exc:
        raise ConfigError("--port", f"cannot listen on {chosen_host}:{chosen_port}: "
                          f"{exc.strerror or exc}") from exc
    shown = f"[{chosen_host}]" if ":" in chosen_host else chosen_host
    err.print(f"fixedit API on http://{shown}:{chosen_port} (docs at /docs; Ctrl-C stops)"
              + (f", {processes} processes" if processes > 1 else ""),
              highlight=False, markup=False)
    # access_log off: request lines would carry query strings (search text) into the log.
    config = uvicorn.Config(app, log_level="warning", access_log=False, log_config=None,
                            server_header=False)

    def run(worker: int = 0) -> None:
        server = uvicorn.Server(config)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a graceful stop, not an error
            server.run(sockets=[socks[worker % len(socks)]])
        if not server.started:
            raise typer.Exit(1)  # uvicorn has logged why

    with contextlib.ExitStack() as stack:
        for sock in socks:
            stack.enter_context(sock)
        if processes == 1:
            run()
        else:
            _serve_forked(run, processes, engine)


def _listen(host: str, port: int, processes: int = 1) -> list[socket.socket]:
    """The listening sockets, bound here so a taken port is a one-line error, not a log.

    One socket per server process where the system has SO_REUSEPORT (Linux, the BSDs): the
    kernel then spreads new connections over the processes. With one shared socket, whichever
    process wakes first accepts every waiting connection, and keep-alive clients stay with it:
    measured with 16 clients and two processes, one served them all while the other idled.
    Elsewhere, one socket shared by every process."""
    count = processes if processes > 1 and hasattr(socket, "SO_REUSEPORT") else 1
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if count > 1:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            # Port 0 asks the kernel for a free port: the other sockets must join that one.
            sock.bind((host, port or (socks[0].getsockname()[1] if len(socks) > 1 else 0)))
            sock.set_inheritable(True)
    except OSError:
        for sock in socks:
            sock.close()
        raise
    return socks


def _serve_forked(run: Callable[[int], None], processes: int, engine: sa.Engine) -> None:
    """Run `run(worker)` (uvicorn on that worker's socket) in `processes` forked children, and
    wait.

    Forked after the index is built, so the children share its memory (copy-on-write; the app
    was moved out of the garbage collector's sight, which keeps the pages shared) and none of
    them builds its own. One process serves lookups on one core at most (the GIL); this is how
    a second core helps. Each child keeps its own index refresh, key cache and rate-limit
    buckets (a key may be allowed up to `processes` times its rate). SIGINT or SIGTERM to this
    process stops the children gracefully; if one dies, the others are stopped too.
    """
    children: list[int] = []
    for worker in range(processes):
        pid = os.fork()
        if pid == 0:  # the child: never returns into the CLI
            code = 1
            try:
                engine.dispose(close=False)  # the parent's pooled connections are not ours
                run(worker)
                code = 0
            except Exception:  # noqa: BLE001  (reported here: a child never returns to the CLI)
                traceback.print_exc()
            finally:
                os._exit(code)
        children.append(pid)

    def stop(_signum: int, _frame: object) -> None:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failed = False
    while children:
        pid, status = os.wait()
        children.remove(pid)
        if os.waitstatus_to_exitcode(status) not in (0, -signal.SIGTERM, -signal.SIGINT) \
                and not failed:
            failed = True
            err.print(f"a server process ({pid}) ended with status "
                      f"{os.waitstatus_to_exitcode(status)}; stopping the others", markup=False)
            stop(signal.SIGTERM, None)
    if failed:
        raise typer.Exit(1)


@keys_app.command("create")
def create(
    ctx: typer.Context,
    scope: Annotated[str, typer.Option(help="read (lookup, resolutions), write (+ feedback) or "
                                            "admin (+ metrics).")],
    company: Annotated[str | None, typer.Option(
        help="Limit the key to this company's records.")] = None,
    name: Annotated[str, typer.Option(help="What the key is for, shown in listings.")] = "",
) -> None:
    """Make an API key. Its secret is printed once, now: store it; it cannot be shown again."""
    if scope not in API_SCOPES:
        raise ConfigError("--scope", f"unknown scope {scope!r}; choose from "
                          f"{', '.join(API_SCOPES)}")
    if company is not None and not company.strip():
        raise ConfigError("--company", "must not be blank; leave it out for a key that sees all")
    settings = ctx.obj.settings()
    with store.session_scope(ctx.obj.engine(settings)) as session:
        created = create_key(session, scope=scope, name=name, company=company)
    limited = f", limited to {created.key.company}" if created.key.company else ""
    err.print(f"created key {created.key.prefix} ({created.key.scope}{limited}); "
              "the secret below is shown only this once:", highlight=False, markup=False)
    out.print(created.secret, highlight=False, markup=False, soft_wrap=True)


@keys_app.command("list")
def list_(
    ctx: typer.Context,
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked keys.")
                               ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List API keys (prefix, scope, company, last use); secrets are never shown."""
    settings = ctx.obj.settings()
    with store.session_scope(ctx.obj.engine(settings)) as session:
        keys = list_keys(session, include_revoked=include_revoked)
    if as_json:
        out.print_json(json.dumps([_as_dict(key) for key in keys]))
        return
    if not keys:
        out.print("no API keys; make one with `fixedit keys create --scope read`", markup=False)
        return
    table = Table(Column("prefix", no_wrap=True), "name", "scope", "company", "created",
                  "last used", "revoked")
    for key in keys:
        table.add_row(key.prefix, key.name, key.scope, key.company or "(all)",
                      _when(key.created_at), _when(key.last_used_at), _when(key.revoked_at))
    out.print(table)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Argument(help="The key's prefix, as `fixedit keys list` shows.")],
) -> None:
    """Revoke an API key: refused from now on (a running server that verified it in the last
    [api] key_cache_seconds, 5 by default, refuses it once that has passed)."""
    settings = ctx.obj.settings()
    with store.session_scope(ctx.obj.engine(settings)) as session:
        key = revoke_key(session, prefix=prefix)
    if key is None:
        raise ConfigError("prefix", f"no API key with prefix {prefix!r} (see `fixedit keys list`)")
    out.print(f"revoked {key.prefix}", highlight=False, markup=False)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _as_dict(key: ApiKey) -> dict[str, object]:
    return {"prefix": key.prefix, "name": key.name, "scope": key.scope, "company": key.company,
            "created_at": key.created_at.isoformat(),
            "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
            "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}
