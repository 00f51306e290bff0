"""How the CLI shows things: rich tables and progress, built from records and store reports."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from fixedit.pipeline import SyncReport
from records import Resolution

_OUTCOME_STYLE = {"resolved": "green", "workaround": "yellow", "escalated": "cyan",
                  "unresolved": "red", "unknown": "dim"}


class SyncProgress:
    """One progress line per source: a pulsing bar, running counts and elapsed time."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def start(self, name: str) -> TaskID:
        """Add a line for a source that starts syncing."""
        return self._progress.add_task(name, total=None, counts="starting")

    def update(self, task: TaskID, report: SyncReport) -> None:
        """Show the counts a batch brought."""
        c = report.counts
        parts = [f"{c['seen']} seen"] + [f"{c[key]} {label}" for key, label in (
            ("created", "new"), ("updated", "changed"), ("quarantined", "bad"),
            ("extracted", "extracted"), ("deleted", "deleted")) if c[key]]
        self._progress.update(task, counts=" · ".join(parts))

    def finish(self, task: TaskID) -> None:
        """Mark a source done."""
        self._progress.update(task, total=1, completed=1)


@contextmanager
def sync_progress(console: Console) -> Iterator[SyncProgress]:
    """A live progress display on `console` for the duration of a sync."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with progress:
        yield SyncProgress(progress)


def sync_table(reports: Sequence[SyncReport]) -> Table:
    """One row per source and kind: what the run did.

    bad = records quarantined with their reason; secrets = passwords, keys and tokens redacted.
    """
    table = Table(title="sync", title_justify="left")
    columns = {"seen": "seen", "new": "created", "changed": "updated", "same": "unchanged",
               "bad": "quarantined", "extracted": "extracted", "deleted": "deleted"}
    table.add_column("source", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for label in (*columns, "secrets"):
        table.add_column(label, justify="right")
    for r in reports:
        table.add_row(r.source, r.kind, "ok" if r.status == "succeeded" else r.status.upper(),
                      *(str(r.counts[key]) for key in columns.values()),
                      str(r.redacted))
    return table


def _outcome(resolution: Resolution) -> Text:
    value = resolution.outcome.value
    return Text(value, style=_OUTCOME_STYLE.get(value, ""))


def resolutions_table(resolutions: Sequence[Resolution], *, title: str) -> Table:
    """A compact overview of resolutions: ticket, title, category, outcome, steps, flags."""
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column("ticket", no_wrap=True)
    table.add_column("title", ratio=1, overflow="ellipsis", no_wrap=True)
    table.add_column("category", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    table.add_column("steps", justify="right")
    table.add_column("conf.", justify="right")
    for r in resolutions:
        table.add_row(r.ticket.external_id, r.title.text, r.category, _outcome(r),
                      str(len(r.steps)),
                      f"{r.confidence:.2f}")
    return table


def resolution_panel(resolution: Resolution, *, score: float | None = None) -> Panel:
    """One resolution as a person reads it: problem, cause, steps, what did not work, proof."""
    r = resolution
    lines: list[RenderableType] = []

    def field(label: str, value: str | None) -> None:
        if value:
            lines.append(Text.assemble((f"{label}: ", "bold"), value))

    field("problem", r.problem.text if r.problem else None)
    field("cause", r.cause.text if r.cause else None)
    for index, step in enumerate(r.steps, start=1):
        notes = ", ".join(sorted({e.note_id or e.field for e in step.evidence}))
        lines.append(Text.assemble((f"  {index}. ", "bold"), step.text, (f"  [{notes}]", "dim")))
    for attempt in r.failed_attempts:
        field("did not work", attempt.text)
    field("verified", r.verification.text if r.verification else None)
    extras = [("products", r.products), ("error codes", r.error_codes), ("KB", r.kb_refs),
              ("hosts", r.hosts)]
    for label, items in extras:
        field(label, ", ".join(item.text for item in items) if items else None)
    header = f"{r.ticket.source}/{r.ticket.external_id} · {r.title.text}"
    subtitle = f"{r.outcome.value} · {r.category} · confidence {r.confidence:.2f}"
    if score is not None:
        subtitle = f"score {score:.2f} · " + subtitle
    return Panel(Group(*lines) if lines else Text("(no detail extracted)", style="dim"),
                 title=header, title_align="left", subtitle=subtitle, subtitle_align="right")


def lookup_view(query: str, hits: Sequence[Any]) -> RenderableType:
    """Ranked matches for a lookup, best first."""
    return Group(
        Text.assemble(("prior resolutions for: ", "bold"), query),
        *(resolution_panel(hit.resolution, score=hit.score) for hit in hits),
    )


def status_views(report: Any) -> list[RenderableType]:
    """Tables for `fixedit status`: stored counts, sources with cursors, last runs."""
    data = report.to_dict()
    counts = Table(title="stored", title_justify="left")
    counts.add_column("what")
    counts.add_column("count", justify="right")
    for key, value in data["counts"].items():
        counts.add_row(key, str(value))
    cursors = Table(title="sources and cursors", title_justify="left")
    for name in ("source", "kind", "cursor", "updated"):
        cursors.add_column(name)
    for cursor in data["cursors"]:
        value = cursor["value"] or ""
        shown = value if len(value) <= 24 else value[:12] + "…" + value[-8:]
        if cursor.get("slice"):
            shown += f" @ {cursor['slice']}"
        cursors.add_row(cursor["source"], cursor["kind"], shown, str(cursor["updated_at"]))
    runs = Table(title="last runs", title_justify="left")
    for name in ("source", "kind", "status", "started", "seen", "created", "updated",
                 "quarantined", "extracted", "error"):
        runs.add_column(name)
    for run in data["last_runs"]:
        c = run["counts"]
        runs.add_row(run["source"], run["kind"], run["status"], str(run["started_at"]),
                     *(str(c.get(k, 0)) for k in ("seen", "created", "updated", "quarantined",
                                                   "extracted")),
                     run.get("error") or "")
    return [counts, cursors, runs]


def eval_table(split: str, system: Any, base: Any) -> Table:
    """Precision/recall/F1 per role and field for the extractor and the baseline, side by side."""
    table = Table(title=f"{split}: {system.tickets} labelled tickets", title_justify="left")
    table.add_column("")
    for who in ("fixedit", "baseline"):
        for metric in ("P", "R", "F1"):
            table.add_column(f"{who} {metric}", justify="right")

    def row(label: str, ours: Any, theirs: Any) -> None:
        table.add_row(label, *(f"{value:.2f}" for tally in (ours, theirs)
                               for value in (tally.precision, tally.recall, tally.f1)))

    for role, tally in system.roles.items():
        row(f"role: {role}", tally, base.roles[role])
    for name, tally in system.fields.items():
        row(f"field: {name}", tally, base.fields[name])
    for name, value in system.accuracy.items():
        table.add_row(f"{name} (accuracy)", "", "", f"{value:.2f}", "", "",
                      f"{base.accuracy[name]:.2f}")
    return table
