"""The `fixedit` command line. It only translates: arguments in, one library call, output out."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from typer.core import TyperGroup

import store
from fixedit import offline, views
from fixedit.runs import sync_sources
from fixedit.settings import Settings, config_path, load_settings
from fixedit.sources import open_connector
from records import ConfigError, FixeditError

log = logging.getLogger(__name__)
WORKED = ("resolved", "workaround")
"""Outcomes of fixes that worked: what a lookup shows unless asked for everything."""
out = Console()
err = Console(stderr=True)


class _Group(TyperGroup):
    """Turns fixedit's own errors into one clear line on stderr and a non-zero exit code."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FixeditError as exc:
            err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(2 if isinstance(exc, ConfigError) else 1) from exc


app = typer.Typer(
    cls=_Group,
    name="fixedit",
    help=(
        "Turn MSP tickets into reusable, evidence-backed resolutions.\n\n"
        "Typical first steps: `fixedit demo` (everything on bundled sample data), then "
        '`fixedit init` to write a config.toml, `fixedit sync`, `fixedit lookup "..."`.'
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
export_app = typer.Typer(cls=_Group, help="Export stored knowledge.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@dataclass
class _State:
    config: Path | None
    verbosity: int

    def settings(self) -> Settings:
        settings = load_settings(self.config)
        _configure_logging(settings.log_level, self.verbosity)
        return settings

    def engine(self, settings: Settings):  # -> sqlalchemy.Engine, kept out of the CLI's types
        engine = store.make_engine(settings.database_url)
        store.migrate(engine)
        return engine


def _configure_logging(level_name: str, verbosity: int) -> None:
    level = logging.getLevelName(level_name)
    if verbosity > 0:
        level = logging.DEBUG
    elif verbosity < 0:
        level = logging.WARNING
    handler = RichHandler(console=err, show_path=False, show_time=False, markup=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
    # httpx logs full URLs (with query strings) at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@app.callback()
def _main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="FIXEDIT_CONFIG",
            help="Config file (TOML). Default: ./config.toml if present.",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log every page and batch.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Log warnings and errors only.")
    ] = False,
) -> None:
    ctx.obj = _State(config=config, verbosity=1 if verbose else -1 if quiet else 0)


@app.command()
def init(
    path: Annotated[Path, typer.Option("--path", "-p", help="Where to write it.")] = Path(
        "config.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a starter config.toml, commented, to edit before the first sync."""
    if path.exists() and not force:
        raise ConfigError("config", f"{path} already exists (use --force to overwrite)")
    path.write_text(offline.starter_config(), encoding="utf-8")
    out.print(
        f"wrote {path}: edit its [[sources]] tables, then run `fixedit check` and `fixedit sync`",
        markup=False,
        highlight=False,
    )


@app.command()
def sync(
    ctx: typer.Context,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Sync only this source (repeatable). Default: all."),
    ] = None,
) -> None:
    """Pull changed tickets from each source, store them, and extract resolutions.

    Safe to interrupt and re-run: the cursor only moves with the data it covers, and unchanged
    tickets are neither rewritten nor re-extracted.
    """
    state: _State = ctx.obj
    settings = state.settings()
    chosen = [settings.source(name) for name in source] if source else settings.sources
    if not chosen:
        raise ConfigError(
            "sources",
            "no sources configured: add a [[sources]] table "
            f"to {config_path(state.config) or 'config.toml'} (see `fixedit init`)",
        )
    outcome = sync_sources(state.engine(settings), settings=settings, sources=chosen, console=err)
    out.print(views.sync_table(outcome.reports))
    if outcome.failures:
        raise typer.Exit(1)


@app.command()
def check(
    ctx: typer.Context,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Check only this source.")
    ] = None,
) -> None:
    """Check each source's settings and credentials with one cheap call."""
    settings = ctx.obj.settings()
    chosen = [settings.source(name) for name in source] if source else settings.sources
    if not chosen:
        raise ConfigError("sources", "no sources configured")
    for source_settings in chosen:
        with open_connector(source_settings) as connector:
            connector.check()
        out.print(f"[green]ok[/] {source_settings.name} ({source_settings.kind})")


@app.command()
def extract(
    input_: Annotated[
        str,
        typer.Option("--input", "-i", help="Tickets, JSONL in the import format; '-' reads stdin."),
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", help="Resolutions as JSONL; '-' writes stdout.")
    ] = "-",
    source: Annotated[str, typer.Option(help="Source name for lines that carry none.")] = "import",
    timezone: Annotated[str, typer.Option(help="Zone for datetimes written without one.")] = "UTC",
) -> None:
    """Extract resolutions from a ticket file offline: nothing is stored or sent anywhere.

    Bad lines are reported on stderr with their line number and skipped; the exit code is 1 if
    any line was skipped, so scripts notice.
    """
    stats = offline.extract_file(input_, output, source=source, timezone=timezone)
    for reason in stats.rejects:
        err.print(f"skipped: {reason}", highlight=False, markup=False)
    err.print(
        f"{stats.extracted} resolutions written, {len(stats.rejects)} lines skipped, "
        f"{stats.redacted} secrets redacted",
        highlight=False,
    )
    if stats.rejects:
        raise typer.Exit(1)


@app.command()
def lookup(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The new problem, in your own words or pasted.")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100)] = 5,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON for scripts and agents.")
    ] = False,
    include_thin: Annotated[
        bool, typer.Option("--all", help="Also show open, escalated and unresolved tickets, "
                                         "and records without a problem or steps.")
    ] = False,
) -> None:
    """Find prior resolutions for a problem: what was done last time, and where it came from.

    By default only fixes that worked are shown: tickets resolved (or worked around) whose record
    states a problem and at least one step. --all shows everything that matches.
    """
    settings = ctx.obj.settings()
    filters = store.LookupFilters(usable_only=not include_thin,
                                  outcomes=None if include_thin else WORKED)
    hits = store.SearchIndex(ctx.obj.engine(settings)).search(text, filters=filters, limit=limit)
    if as_json:
        out.print_json(
            json.dumps(
                [
                    {
                        "score": round(hit.score, 4),
                        "confident": hit.confident,
                        "matched": list(hit.matched),
                        "resolution_id": hit.resolution_id,
                        "resolution": hit.resolution.model_dump(mode="json"),
                    }
                    for hit in hits
                ]
            )
        )
        return
    if not hits:
        out.print("no prior resolutions match; try fewer or different words")
        return
    out.print(views.lookup_view(text, hits))


@app.command()
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show sources, their cursors, the last sync runs and what is stored."""
    settings = ctx.obj.settings()
    with store.session_scope(ctx.obj.engine(settings)) as session:
        report = store.status_report(session)
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
        return
    for renderable in views.status_views(report):
        out.print(renderable)


@export_app.command("records")
def export_records(
    ctx: typer.Context,
    format_: Annotated[str, typer.Option("--format", "-f", help="Only 'jsonl' for now.")] = "jsonl",
    output: Annotated[str, typer.Option("--output", "-o", help="'-' writes stdout.")] = "-",
    source: Annotated[str | None, typer.Option(help="Only this source's records.")] = None,
    usable_only: Annotated[
        bool,
        typer.Option("--usable-only", help="Only records with a problem and at least one step."),
    ] = False,
) -> None:
    """Write stored resolutions, one JSON object per line, for agents and vector databases."""
    if format_ != "jsonl":
        raise ConfigError("--format", f"unknown format {format_!r}; supported: jsonl")
    settings = ctx.obj.settings()
    with (
        store.session_scope(ctx.obj.engine(settings)) as session,
        offline.open_output(output) as stream,
    ):
        count = 0
        for resolution in store.iter_resolutions(session, source=source, usable_only=usable_only):
            stream.write(resolution.model_dump_json() + "\n")
            count += 1
    err.print(f"{count} records exported", highlight=False)


@app.command("eval")
def evaluate(
    split: Annotated[list[str] | None, typer.Option(
        help="Which labelled split(s) to score: dev, test (repeatable). Never tune on test.")
    ] = None,
) -> None:
    """Score the extractor on the labelled tickets, per role and per field, beside a baseline.

    The baseline is "the first note is the problem, the last technician note is the fix".
    The labelled data lives in extract/data/labelled/ (train/dev/test splits).
    """
    from extract import Extractor
    from extract.evaluate import baseline, commonest_category, score
    from extract.labelled import load_labelled

    chosen = split or ["dev", "test"]
    unknown = sorted(set(chosen) - {"train", "dev", "test"})
    if unknown:
        raise ConfigError("--split", f"unknown split(s) {', '.join(unknown)}")
    loaded = load_labelled()
    for problem in loaded.problems:
        err.print(f"skipped: {problem}", markup=False, highlight=False)
    if not loaded.tickets:
        raise ConfigError("labelled", "no labelled tickets found in extract/data/labelled/")
    extractor = Extractor()
    category = commonest_category(loaded.split("train"))
    for name in chosen:
        tickets = loaded.split(name)  # type: ignore[arg-type]
        system = score(tickets, extractor.extract)
        base = score(tickets, lambda t: baseline(t, category=category))
        out.print(views.eval_table(name, system, base))


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=0, max=65535)] = 8765,
    scale: Annotated[int, typer.Option(
        help="Serve this many copies of the fixture tickets (fresh ids), e.g. 60 for ~10,000.",
        min=1, max=1000)] = 1,
    vendor: Annotated[list[str] | None, typer.Option(
        help="Emulate only this vendor (repeatable): connectwise, autotask, halopsa.")] = None,
) -> None:
    """Serve emulated ConnectWise, Autotask and HaloPSA APIs on 127.0.0.1 until Ctrl-C.

    The emulations answer like the vendors' documented APIs (auth, filters, paging, Link and
    nextPageUrl, OAuth tokens) from the payloads in fixtures/<vendor>/. Faults can be injected
    over HTTP: POST /_sandbox/faults with {"kind": "status", "status": 429, "retry_after": "5"}.
    It prints the [[sources]] tables and environment variables that sync from it.
    """
    from connectors.sandbox.base import VENDORS
    from connectors.sandbox.runner import config_snippet, serve_forever

    unknown = sorted(set(vendor or ()) - set(VENDORS))
    if unknown:
        raise ConfigError("--vendor", f"unknown vendor(s) {', '.join(unknown)}; "
                          f"choose from {', '.join(VENDORS)}")

    def ready(running) -> None:  # connectors.sandbox.runner.Sandbox
        out.print(f"sandbox serving on {running.url} (Ctrl-C to stop)", highlight=False)
        out.print(config_snippet(running), markup=False, highlight=False)

    try:
        serve_forever(vendors=tuple(vendor or VENDORS), port=port, scale=scale, on_ready=ready)
    except OSError as exc:  # the port is taken or not ours to bind
        raise ConfigError("--port", f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc


@app.command()
def demo(
    workdir: Annotated[
        Path, typer.Option(help="Where the demo keeps its config and database.")
    ] = Path(".fixedit-demo"),
) -> None:
    """Run everything on the bundled sample tickets: sync, extract, list, look up. Then exit."""
    from fixedit.demo import run_demo

    run_demo(workdir=workdir, out=out, err=err)


# --- commands defined in other modules, registered here (one line each) ---
from fixedit.mcp_server import mcp_command as _mcp_command  # noqa: E402
from fixedit.metrics_cli import metrics_command as _metrics_command  # noqa: E402
from fixedit.suggest import suggest_command as _suggest_command  # noqa: E402

app.command("mcp")(_mcp_command)
app.command("metrics")(_metrics_command)
app.command("suggest")(_suggest_command)
from fixedit import serve as _serve  # noqa: E402  (the API commands: fixedit/serve.py)

app.command()(_serve.serve)
app.add_typer(_serve.keys_app, name="keys")


def main() -> None:
    """Console entry point."""
    sys.exit(app())


if __name__ == "__main__":  # python -m fixedit.cli (the benches start the server this way)
    main()
