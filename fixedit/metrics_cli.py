"""`fixedit metrics`: is knowledge captured and reused? The same figures as `/v1/metrics`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table

from store import session_scope
from store.metrics import FixedItRate, Metrics, compute_metrics


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _overview(metrics: Metrics) -> Table:
    retention, fixed, reuse = metrics.retention, metrics.fixed_it, metrics.reuse
    table = Table("metric", "value", "detail", title="knowledge capture and reuse"
                  + (f" — {metrics.company}" if metrics.company else ""))
    table.add_row("context retention", _pct(retention.rate),
                  f"{retention.usable} of {retention.closed_tickets} closed tickets left a usable "
                  f"resolution ({retention.extracted} extracted)")
    table.add_row('"fixed it" rate', _pct(fixed.rate),
                  f"{fixed.fixed_it} of {fixed.resolutions} resolutions say no more than that")
    channels = ", ".join(f"{name} {count}" for name, count in reuse.by_channel.items())
    table.add_row("lookups served", str(reuse.lookups), channels or "none yet")
    table.add_row("confident lookups", _pct(reuse.confident_rate),
                  f"{reuse.confident_lookups} of {reuse.lookups}")
    table.add_row("helpful feedback", _pct(reuse.helpful_rate),
                  f"{reuse.helpful} of {reuse.feedback} verdicts")
    return table


def _by(title: str, rows: list[FixedItRate]) -> Table:
    table = Table(title, "resolutions", '"fixed it"', "rate", title=f'"fixed it" by {title}')
    for row in rows:
        table.add_row(row.name or "(none)", str(row.resolutions), str(row.fixed_it),
                      _pct(row.rate))
    return table


def _recurring(metrics: Metrics) -> Table:
    table = Table("count", "category", "shared", "example", "resolution ids",
                  title="most recurring problems")
    for problem in metrics.recurring_problems:
        table.add_row(str(problem.count), problem.category,
                      f"{problem.kind.replace('_', ' ')}: {problem.signature}",
                      problem.example_title,
                      ", ".join(str(i) for i in problem.example_resolution_ids))
    return table


def render(metrics: Metrics) -> RenderableType:
    """Every metric as rich tables, the empty ones left out."""
    parts: list[RenderableType] = [_overview(metrics)]
    if metrics.fixed_it_by_technician:
        parts.append(_by("technician", metrics.fixed_it_by_technician))
    if metrics.fixed_it_by_board:
        parts.append(_by("board", metrics.fixed_it_by_board))
    if metrics.recurring_problems:
        parts.append(_recurring(metrics))
    return Group(*parts)


def metrics_command(
    ctx: typer.Context,
    company: Annotated[
        str | None, typer.Option("--company", help="Only this company's tickets and lookups.")
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=100, help="How many recurring problems to list.")
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Show whether knowledge is captured and reused: context retention, the "fixed it" rate
    by technician and board, lookups and feedback, and the most recurring problems."""
    state = ctx.obj
    settings = state.settings()
    engine = state.engine(settings)
    try:
        with session_scope(engine) as session:
            metrics = compute_metrics(session, company=company, top=top)
    finally:
        engine.dispose()
    console = Console()
    if as_json:
        console.print_json(metrics.model_dump_json())
    else:
        console.print(render(metrics))
