"""Suggestions on new tickets: look up each newly opened ticket and, where the source allows it,
post the best prior resolutions back to the PSA as an internal note.

Off by default. A source opts in with ``writeback.enabled = true`` and ``writeback.suggest =
true``; with ``writeback.dry_run = true`` (the default) or ``fixedit suggest --dry-run`` the
job only logs what it would post. Every handled ticket is recorded in the `suggestions` table so
a note is never posted twice; a failed post is retried on the next run. `fixedit suggest` runs
the job once; until the sync daemon exists, schedule it after each sync (cron, a systemd timer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from connectors.base import ApiConnector, Connector
from connectors.settings import ApiSourceSettings, WritebackSettings
from extract import redact_text
from extract.pii import RedactionSettings
from extract.sources import SUGGESTION_HEADER
from fixedit.settings import Settings, SourceSettings
from fixedit.sources import open_connector
from records import ConfigError, FixeditError, Resolution, Ticket
from store import session_scope
from store.lookup import LookupFilters, Match, SearchIndex
from store.suggestions import new_tickets, record_suggestion
from store.tables import utcnow
from store.usage import record_lookup

log = logging.getLogger(__name__)

STEPS_SHOWN = 4
"""Steps quoted per prior resolution; the link leads to the rest."""
MAX_STEP_CHARS = 200
BATCH = 200
"""Tickets handled per source per run at most; the next run takes the rest."""

Connect = Callable[[SourceSettings], AbstractContextManager[Connector]]


@dataclass
class SuggestReport:
    """What one run did for one source."""

    source: str
    live: bool
    counts: dict[str, int] = field(default_factory=lambda: {
        "posted": 0, "dry_run": 0, "no_match": 0, "failed": 0})

    @property
    def handled(self) -> int:
        return sum(self.counts.values())


def run_suggestions(
    engine: sa.Engine,
    settings: Settings,
    *,
    sources: Sequence[str] | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
    connect: Connect = open_connector,
    index: SearchIndex | None = None,
) -> list[SuggestReport]:
    """Run the job once over `sources` (default: every source with suggestions on).

    A source named explicitly must be an API source; with suggestions off it may only be
    previewed (`dry_run`).
    """
    chosen = _chosen(settings, sources, dry_run)
    if not chosen:
        log.info("suggestions: no source has writeback.suggest = true; nothing to do")
        return []
    index = index or SearchIndex(engine)
    index.rebuild()
    now = now or utcnow()
    reports = []
    for source in chosen:
        reports.append(_run_source(engine, source, index=index, redaction=settings.redaction,
                                   dry_run=dry_run, now=now, connect=connect))
    return reports


def _chosen(settings: Settings, names: Sequence[str] | None,
            dry_run: bool) -> list[ApiSourceSettings]:
    if not names:
        return [source for source in settings.sources
                if isinstance(source, ApiSourceSettings) and source.writeback.suggest]
    chosen = []
    for name in names:
        source = settings.source(name)
        if not isinstance(source, ApiSourceSettings):
            raise ConfigError(f"sources.{name}",
                              "suggestions are posted through a PSA API; this is a file source")
        if not source.writeback.suggest and not dry_run:
            raise ConfigError(f"sources.{name}.writeback.suggest",
                              "suggestions are off for this source; set writeback.enabled and "
                              "writeback.suggest to true, or preview with --dry-run")
        chosen.append(source)
    return chosen


def _run_source(
    engine: sa.Engine,
    source: ApiSourceSettings,
    *,
    index: SearchIndex,
    redaction: RedactionSettings,
    dry_run: bool,
    now: datetime,
    connect: Connect,
) -> SuggestReport:
    options = source.writeback
    live = options.suggest and options.enabled and not options.dry_run and not dry_run
    report = SuggestReport(source=source.name, live=live)
    with session_scope(engine) as session:
        tickets = new_tickets(session, source=source.name,
                              opened_after=now - options.suggest_max_age,
                              retry_dry_run=live, limit=BATCH)
    log.info("source %s: %d new ticket(s) to suggest for (%s)", source.name, len(tickets),
             "posting" if live else "dry run")
    with _LazyConnector(connect, source) as connector:
        for item in tickets:
            status = _handle(engine, item.row_id, item.ticket, index=index, options=options,
                             redaction=redaction, live=live, connector=connector)
            report.counts[status] += 1
    return report


def _handle(
    engine: sa.Engine,
    row_id: int,
    ticket: Ticket,
    *,
    index: SearchIndex,
    options: WritebackSettings,
    redaction: RedactionSettings,
    live: bool,
    connector: _LazyConnector,
) -> str:
    """Look one ticket up, post (or log) the note, record the outcome; the status."""
    matches = _matches(ticket, index=index, options=options, redaction=redaction)
    with session_scope(engine) as session:
        lookup_id = record_lookup(session, channel="suggest", company=ticket.company,
                                  matches=matches)
    status, detail = "no_match", None
    if matches:
        text = format_note(matches)
        if not live:
            status = "dry_run"
            log.info("source %s: dry run: would post %d prior resolution(s) (%d characters) to "
                     "ticket %s", ticket.source, len(matches), len(text), ticket.external_id)
        else:
            try:
                detail = connector.get().post_internal_note(ticket.external_id, text)
                status = "posted"
                log.info("source %s: posted suggestions to ticket %s", ticket.source,
                         ticket.external_id)
            except (FixeditError, ValueError) as exc:
                status, detail = "failed", str(exc)
                log.warning("source %s: posting suggestions to ticket %s failed (retried next "
                            "run): %s", ticket.source, ticket.external_id, exc)
    with session_scope(engine) as session:
        record_suggestion(session, ticket_row_id=row_id, status=status, lookup_id=lookup_id,
                          resolution_ids=[match.resolution_id for match in matches],
                          detail=detail)
    return status


def _matches(
    ticket: Ticket,
    *,
    index: SearchIndex,
    options: WritebackSettings,
    redaction: RedactionSettings,
) -> list[Match]:
    """The matches worth posting: not the ticket itself, above the minimum score, and (when
    asked) only if one is confident."""
    query, _ = redact_text(f"{ticket.title}\n{ticket.description}".strip(), pii=redaction)
    if not query.strip():
        return []
    found = index.search(query, filters=LookupFilters(), limit=options.suggest_limit + 1)
    kept = [match for match in found
            if (match.resolution.ticket.source, match.resolution.ticket.external_id)
            != (ticket.source, ticket.external_id)
            and match.score >= options.suggest_min_score][: options.suggest_limit]
    if options.suggest_confident_only and not any(match.confident for match in kept):
        kept = []
    return kept


def format_note(matches: Sequence[Match]) -> str:
    """The internal note: each prior resolution's title, outcome, first steps and link.

    Plain text: every PSA shows it, none renders the same Markdown.
    """
    # The header is how the extractor knows the note for fixedit's own when it syncs it back.
    lines = [f"{SUGGESTION_HEADER} (automatic suggestion, internal only).", ""]
    for number, match in enumerate(matches, start=1):
        resolution = match.resolution
        sure = ", confident match" if match.confident else ""
        lines.append(f"{number}. {resolution.title.text} [{resolution.outcome.value}{sure}]")
        if resolution.problem is not None:
            lines.append(f"   Problem: {_cut(resolution.problem.text)}")
        lines.extend(f"   Step {index}: {_cut(step.text)}"
                     for index, step in enumerate(resolution.steps[:STEPS_SHOWN], start=1))
        if len(resolution.steps) > STEPS_SHOWN:
            lines.append(f"   (+{len(resolution.steps) - STEPS_SHOWN} more steps)")
        lines.append(f"   Source: {_link(resolution)}"
                     + f" (fixedit resolution {match.resolution_id})")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_STEP_CHARS else text[: MAX_STEP_CHARS - 1] + "…"


def _link(resolution: Resolution) -> str:
    ref = resolution.ticket
    return ref.url or f"{ref.source} ticket {ref.external_id}"


class _LazyConnector:
    """Opens the source's connector on first use only: dry runs and runs without a match make
    no request to the PSA."""

    def __init__(self, connect: Connect, source: ApiSourceSettings) -> None:
        self._connect, self._source = connect, source
        self._stack = ExitStack()
        self._connector: ApiConnector | None = None

    def __enter__(self) -> _LazyConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def get(self) -> ApiConnector:
        if self._connector is None:
            connector = self._stack.enter_context(self._connect(self._source))
            if not isinstance(connector, ApiConnector):
                raise ConfigError(f"sources.{self._source.name}",
                                  "this source cannot post notes back")
            self._connector = connector
        return self._connector


def _rows(reports: Sequence[SuggestReport]) -> Iterator[list[Any]]:
    for report in reports:
        yield [report.source, "post" if report.live else "dry run",
               *(report.counts[name] for name in ("posted", "dry_run", "no_match", "failed"))]


def suggest_command(
    ctx: typer.Context,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", "-s", help="Only this source (repeatable). Default: every "
                                            "source with writeback.suggest = true."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Look up and log only; post nothing.")
    ] = False,
) -> None:
    """Suggest prior resolutions on newly opened tickets, once: post them as internal notes
    where the source allows it, or log what would be posted."""
    state = ctx.obj
    settings = state.settings()
    engine = state.engine(settings)
    try:
        reports = run_suggestions(engine, settings, sources=source, dry_run=dry_run)
    finally:
        engine.dispose()
    console = Console()
    if not reports:
        console.print("no source has suggestions on (writeback.suggest = true)", markup=False)
        return
    table = Table("source", "mode", "posted", "dry run", "no match", "failed",
                  title="suggestions")
    for row in _rows(reports):
        table.add_row(*(str(value) for value in row))
    console.print(table)
    if any(report.counts["failed"] for report in reports):
        raise typer.Exit(1)
