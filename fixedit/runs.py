"""Sync several configured sources in a row, with live progress; shared by `sync` and `demo`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console
from sqlalchemy import Engine

from extract import Extractor
from fixedit import views
from fixedit.pipeline import SyncReport, sync_source
from fixedit.settings import Settings, SourceSettings
from fixedit.sources import kinds_in_order, open_connector
from records import FixeditError


@dataclass
class SyncOutcome:
    """The reports of the sources that ran, and the errors of those that failed."""

    reports: list[SyncReport] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def sync_sources(
    engine: Engine,
    *,
    settings: Settings,
    sources: Sequence[SourceSettings],
    console: Console,
    extractor: Extractor | None = None,
) -> SyncOutcome:
    """Sync each source in turn; one failing source is reported and the others still run."""
    extractor = extractor or Extractor()
    outcome = SyncOutcome()
    with views.sync_progress(console) as progress:
        for source in sources:
            try:
                with open_connector(source) as connector:
                    for kind in kinds_in_order(connector):
                        task = progress.start(f"{source.name} {kind}")
                        try:
                            outcome.reports.append(sync_source(
                                engine,
                                source=source.name,
                                connector=connector,
                                kind=kind,
                                extractor=extractor,
                                extract_batch_size=settings.extract.batch_size,
                                reconcile_every=getattr(source, "reconcile_every", None),
                                redaction=settings.redaction,
                                on_progress=lambda report, task=task: progress.update(task,
                                                                                      report),
                            ))
                        finally:
                            progress.finish(task)
            except FixeditError as exc:
                outcome.failures[source.name] = str(exc)
                console.print(f"[bold red]error:[/] source {source.name}: {exc}",
                              highlight=False)
    return outcome
