"""`fixedit serve` (the REST API under uvicorn) and `fixedit keys create|list|revoke`.

Registered in fixedit/cli.py. The commands read settings and the engine through the CLI's
context object (``ctx.obj``: `settings()` and `engine(settings)`), like every other command.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

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
) -> None:
    """Serve the REST API (lookup, resolutions, feedback, metrics; OpenAPI at /docs).

    Every route but /health needs an API key: make one with `fixedit keys create`.
    """
    import uvicorn

    from fixedit.app import ready_app

    settings = ctx.obj.settings()
    chosen_host = host or settings.api.host
    chosen_port = port or settings.api.port
    app = ready_app(settings, engine=ctx.obj.engine(settings))
    err.print(f"fixedit API on http://{chosen_host}:{chosen_port} (docs at /docs; Ctrl-C stops)",
              highlight=False, markup=False)
    try:
        # access_log off: request lines would carry query strings (search text) into the log.
        uvicorn.run(app, host=chosen_host, port=chosen_port, log_level="warning",
                    access_log=False, log_config=None, server_header=False)
    except OSError as exc:
        raise ConfigError("--port", f"cannot listen on {chosen_host}:{chosen_port}: "
                          f"{exc.strerror or exc}") from exc


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
    """Revoke an API key at once: requests with it are refused from now on."""
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
