"""Benchmark: full and incremental sync of each PSA connector against the sandbox, over real HTTP.

    python -m bench.sync                          # 10,000 tickets per vendor, every vendor
    python -m bench.sync --tickets 2000 --vendor halopsa

For each vendor: a sandbox scaled so it serves at least N tickets; a FULL sync (fresh SQLite
store in a temporary folder, every kind the connector has, one connector as the app opens one
per run); ~1% of the tickets edited; an INCREMENTAL sync; then one id reconciliation (the
deletion check the daemon runs daily). Each is timed, and its HTTP requests are counted by the
sandbox and set beside the fewest requests the vendor's API allows for the same data
(`minimum_requests`). See bench/README.md for the columns.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

import store
from connectors.sandbox.base import FIXTURES, VENDORS
from connectors.sandbox.registry import emulation_class
from connectors.sandbox.runner import Sandbox, render_sources_toml
from extract import EXTRACTOR_VERSION, Extractor
from fixedit.pipeline import SyncReport, reconcile_deletions, sync_source
from fixedit.settings import load_settings
from fixedit.sources import kinds_in_order, open_connector
from records import EvidencedText, Resolution, Ticket

_TIME_ENTRY = re.compile(r"^time-\d+$")


@dataclass(frozen=True)
class DataShape:
    """What one vendor's sandbox holds, as far as the fewest possible requests depend on it."""

    tickets: int
    """Tickets served, the deliberately malformed ones included."""
    notes: list[int]
    """Per valid ticket, ascending id: notes that are not time entries or a resolution field."""
    time_entries: list[int]
    """Per valid ticket, ascending id: time entries."""
    page_size: int
    id_page_size: int

    @classmethod
    def of(cls, emulation: Any, settings: Any) -> DataShape:
        """Count the sandbox's tickets and their children from `expected()`."""
        expected = emulation.expected()
        order = sorted(expected, key=int)
        return cls(
            tickets=len(emulation.ticket_ids()),
            notes=[sum(1 for n in expected[t] if not n.startswith(("time-", "resolution-")))
                   for t in order],
            time_entries=[sum(1 for n in expected[t] if _TIME_ENTRY.match(n)) for t in order],
            page_size=getattr(settings, "page_size", 100),
            id_page_size=getattr(settings, "id_page_size", 1000),
        )


def _pages(count: int, size: int) -> int:
    """Requests to read `count` records at `size` a page: at least one, to learn there are none."""
    return max(1, math.ceil(count / size))


def _autotask_children(counts: Sequence[int], tickets: int) -> int:
    """Queries for the children of `tickets` tickets, 500 ticket ids per `in` list (the most
    Autotask takes), each answer paged at 500 records."""
    chunks = [counts[start:start + 500] for start in range(0, tickets, 500)] or [[]]
    return sum(_pages(sum(chunk), 500) for chunk in chunks)


def minimum_requests(vendor: str, shape: DataShape, *, changed: int | None = None,
                     reconcile: bool = False) -> int:
    """The fewest requests the vendor's API allows for what the run must read.

    A full sync (`changed` None) lists all N tickets served and reads the children of the V
    well-formed ones (a record that cannot be stored needs no children); an incremental one
    reads `changed` edited tickets with their children (and polls each child stream once); a
    reconciliation lists every ticket id. Every run pays its discovery/auth call once, because
    the app opens a new connector per run.

    connectwise  1 codebase discovery (/login/companyinfo)
                 + ceil(N/1000) ticket pages (pageSize max 1000)
                 + V allNotes calls: notes exist only per ticket; allNotes carries ticket, time
                   entry and meeting notes in one call (a ticket's notes fit one 1000-page)
                 + ceil(E/1000) /time/entries pages for the minutes (bulk, lastUpdated filter)
                 incremental: 1 + ceil(C/1000) + C + 1 (the time-entry stream polled once)
                 reconcile: 1 + ceil(N/1000) (fields=id)
    autotask     1 zone lookup + ceil(N/500) ticket pages (MaxRecords max 500)
                 + TicketNotes and TimeEntries queries with 500 ticket ids per `in` list,
                   each answer paged at 500
                 + 1 picklist read (entityInformation/fields) + 3 name lookups (Resources,
                   Companies, Contacts; the sandbox has fewer than 500 of each)
                 incremental: the same for the C edited tickets
                 reconcile: 1 + ceil(N/500) (IncludeFields id)
    halopsa      1 token + ceil(N/page_size) ticket pages (Halo publishes no maximum page
                   size: the source's page_size is used) + V /Actions calls (Actions can only
                   be listed per ticket)
                 incremental: 1 + ceil(C/page_size) + C
                 reconcile: 1 + ceil(N/id_page_size) (ticketidonly)
    """
    n, valid = shape.tickets, len(shape.notes)
    if vendor == "connectwise":
        if reconcile:
            return 1 + _pages(n, 1000)
        if changed is not None:
            return 1 + _pages(changed, 1000) + changed + 1
        return 1 + _pages(n, 1000) + valid + _pages(sum(shape.time_entries), 1000)
    if vendor == "autotask":
        if reconcile:
            return 1 + _pages(n, 500)
        tickets = valid if changed is None else changed
        notes, entries = shape.notes, shape.time_entries
        if changed is not None:  # edited tickets are spread evenly, as the bench edits them
            step = max(1, len(notes) // max(changed, 1))
            notes, entries = notes[::step][:changed], entries[::step][:changed]
        return (1 + _pages(n if changed is None else changed, 500)
                + _autotask_children(notes, tickets)
                + _autotask_children(entries, tickets) + 1 + 3)
    if vendor == "halopsa":
        if reconcile:
            return 1 + _pages(n, shape.id_page_size)
        if changed is not None:
            return 1 + _pages(changed, shape.page_size) + changed
        return 1 + _pages(n, shape.page_size) + valid
    raise ValueError(f"no request minimum known for {vendor!r}")


class OutOfTime(Exception):
    """A sync ran past the benchmark's time budget; what it did so far is reported."""


class SkipExtraction:
    """Stands in for the extractor: a bare Resolution per ticket, so the bench times the sync.

    The pipeline extracts as it stores; `--extract` runs the real extractor instead.
    """

    def extract_many(self, tickets: Sequence[Ticket] | Iterator[Ticket]) -> Iterator[Resolution]:
        """One empty resolution per ticket."""
        for ticket in tickets:
            yield Resolution(ticket=ticket.ref, title=EvidencedText(text=ticket.title),
                             confidence=0.0, extractor_version=EXTRACTOR_VERSION)


@dataclass
class Phase:
    """One timed run: full sync, incremental sync or reconciliation."""

    name: str
    tickets: int
    seconds: float = 0.0
    requests: int = 0
    minimum: int = 0
    seen: int = 0
    note: str = ""
    endpoints: dict[str, int] = field(default_factory=dict)


@dataclass
class VendorResult:
    """What was measured for one vendor."""

    vendor: str
    served: int
    scale: int
    phases: list[Phase] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _source_settings(sandbox: Sandbox, vendor: str, workdir: Path) -> Any:
    """The source as the app loads it: a TOML file plus secrets from the environment."""
    [table] = sandbox.source_tables()
    config = workdir / f"{vendor}.toml"
    # safety_lag 0: the incremental run follows the edits by a second, not by a schedule.
    config.write_text(render_sources_toml([{**table, "safety_lag": "0s"}]), encoding="utf-8")
    with _environment(sandbox.secret_env()):
        return load_settings(config).source(vendor)


def _next_second() -> None:
    time.sleep(1.02 - time.time() % 1)  # vendors stamp and filter to the second


def _sync(engine: Engine, settings: Any, sandbox: Sandbox, phase: Phase, *, extractor: Any,
          budget: float) -> None:
    """Sync every kind with one connector (as `fixedit sync` does), filling in `phase`."""
    vendor = settings.name
    sandbox.reset_stats()
    started = time.monotonic()

    def on_progress(report: SyncReport) -> None:
        if time.monotonic() - started > budget:
            raise OutOfTime(f"stopped after {budget:.0f}s (--budget)")

    try:
        with open_connector(settings) as connector:
            for kind in kinds_in_order(connector):
                report = sync_source(engine, source=vendor, connector=connector, kind=kind,
                                     extractor=extractor, on_progress=on_progress)
                phase.seen += report.counts["seen"]
    except OutOfTime as exc:
        phase.note = str(exc)
    phase.seconds = time.monotonic() - started
    stats = sandbox.stats()
    phase.requests = stats["requests"].get(vendor, 0)
    phase.endpoints = stats["endpoints"].get(vendor, {})


def _reconcile(engine: Engine, settings: Any, sandbox: Sandbox, phase: Phase) -> None:
    sandbox.reset_stats()
    started = time.monotonic()
    with open_connector(settings) as connector:
        deleted = reconcile_deletions(engine, source=settings.name, connector=connector)
    phase.seconds = time.monotonic() - started
    phase.seen = phase.tickets
    phase.requests = sandbox.stats()["requests"].get(settings.name, 0)
    phase.endpoints = sandbox.stats()["endpoints"].get(settings.name, {})
    if deleted:
        phase.note = f"{deleted} marked deleted (none should be)"


def bench_vendor(vendor: str, *, tickets: int, changed: float, extract: bool, budget: float,
                 workdir: Path, console: Console) -> VendorResult:
    """Measure one vendor: full sync, incremental sync after edits, reconciliation."""
    per_copy = len(emulation_class(vendor)(FIXTURES).ticket_ids())
    scale = max(1, math.ceil(tickets / per_copy))
    extractor: Any = Extractor() if extract else SkipExtraction()
    console.print(f"[bold]{vendor}[/]: loading the sandbox at scale {scale} …")
    with Sandbox([vendor], scale=scale) as sandbox:
        emulation = sandbox.emulation(vendor)
        served = emulation.ticket_ids()
        result = VendorResult(vendor=vendor, served=len(served), scale=scale)
        settings = _source_settings(sandbox, vendor, workdir)
        shape = DataShape.of(emulation, settings)
        engine = store.make_engine(f"sqlite:///{workdir / (vendor + '.sqlite')}")
        store.migrate(engine)
        try:
            full = Phase("full", tickets=len(served),
                         minimum=minimum_requests(vendor, shape, changed=None))
            console.print(f"[bold]{vendor}[/]: full sync of {len(served):,} tickets …")
            _sync(engine, settings, sandbox, full, extractor=extractor, budget=budget)
            result.phases.append(full)
            with store.session_scope(engine) as session:
                stored = store.live_external_ids(session, source=vendor, kind="ticket")
            expected = set(emulation.expected())
            if not full.note and stored != expected:
                result.problems.append(f"full sync stored {len(stored):,} tickets; the sandbox "
                                       f"expects {len(expected):,}")

            step = max(1, round(1 / changed)) if changed > 0 else 0
            edited = sorted(expected, key=int)[::step] if step else []
            for ticket_id in edited:
                emulation.mutate(ticket_id)
            _next_second()
            incremental = Phase("incremental", tickets=len(edited),
                                minimum=minimum_requests(vendor, shape, changed=len(edited)))
            console.print(f"[bold]{vendor}[/]: incremental sync after editing "
                          f"{len(edited):,} tickets …")
            _sync(engine, settings, sandbox, incremental, extractor=extractor, budget=budget)
            result.phases.append(incremental)

            reconcile = Phase("reconcile ids", tickets=len(served),
                              minimum=minimum_requests(vendor, shape, reconcile=True))
            _reconcile(engine, settings, sandbox, reconcile)
            result.phases.append(reconcile)
        finally:
            engine.dispose()
    return result


def _table(results: Sequence[VendorResult], *, extract: bool) -> Table:
    title = ("Sync against the sandbox over HTTP on 127.0.0.1 ("
             + ("with extraction" if extract else "extraction skipped") + ")")
    table = Table(title=title, title_justify="left")
    for name in ("vendor", "run", "tickets", "seen", "seconds", "tickets/s", "requests",
                 "req/ticket", "minimum", "min req/ticket", "× minimum"):
        table.add_column(name, justify="left" if name in ("vendor", "run") else "right")
    for result in results:
        for index, phase in enumerate(result.phases):
            per_ticket = phase.tickets or 1
            table.add_row(
                result.vendor if index == 0 else "",
                phase.name + (" *" if phase.note else ""),
                f"{phase.tickets:,}",
                f"{phase.seen:,}",
                f"{phase.seconds:.1f}",
                f"{phase.tickets / phase.seconds:,.0f}" if phase.seconds else "-",
                f"{phase.requests:,}",
                f"{phase.requests / per_ticket:.2f}",
                f"{phase.minimum:,}",
                f"{phase.minimum / per_ticket:.2f}",
                f"{phase.requests / phase.minimum:.2f}" if phase.minimum else "-",
            )
        table.add_section()
    return table


def _endpoints(result: VendorResult, console: Console, *, top: int = 6) -> None:
    for phase in result.phases:
        busiest = sorted(phase.endpoints.items(), key=lambda item: -item[1])[:top]
        listed = ", ".join(f"{endpoint} ×{count:,}" for endpoint, count in busiest)
        console.print(f"  {result.vendor} {phase.name}: {listed}", highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=10_000,
                        help="least tickets each vendor serves (default 10000)")
    parser.add_argument("--vendor", action="append", choices=VENDORS,
                        help="vendor to measure (repeatable; default: all)")
    parser.add_argument("--changed", type=float, default=0.01,
                        help="share of tickets edited before the incremental sync (default 0.01)")
    parser.add_argument("--extract", action="store_true",
                        help="run the real extractor too (slower; times extraction as well)")
    parser.add_argument("--budget", type=float, default=300,
                        help="seconds one sync may take before it is stopped (default 300)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log warnings (quarantined records, retries) and sync summaries")
    args = parser.parse_args(argv)
    # The fixtures' malformed records are quarantined on purpose: their warnings are noise here.
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    console = Console(width=None if sys.stdout.isatty() else 150)
    results = []
    with tempfile.TemporaryDirectory(prefix="fixedit-bench-") as folder:
        for vendor in args.vendor or VENDORS:
            results.append(bench_vendor(vendor, tickets=args.tickets, changed=args.changed,
                                        extract=args.extract, budget=args.budget,
                                        workdir=Path(folder), console=console))
    console.print()
    console.print(_table(results, extract=args.extract))
    console.print("Requests per vendor endpoint ({id} = any id):")
    for result in results:
        _endpoints(result, console)
    for result in results:
        for phase in result.phases:
            if phase.note:
                console.print(f"* {result.vendor} {phase.name}: {phase.note}; the row shows "
                              "what was done until then", highlight=False)
        for problem in result.problems:
            console.print(f"[bold red]! {result.vendor}:[/] {problem}", highlight=False)
    return 1 if any(result.problems for result in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
