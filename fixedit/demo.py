"""`fixedit demo`: the real path end to end on the bundled sample data, then exit.

It writes an ordinary config into its work folder, so everything it shows can be explored
afterwards with the normal commands (`fixedit -c .fixedit-demo/config.toml lookup "..."`).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.text import Text

import store
from fixedit import views
from fixedit.runs import sync_sources
from fixedit.settings import load_settings
from records import ConfigError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DATABASE = "demo.sqlite"
SAMPLE_QUERIES = (
    "outlook keeps prompting for password",
    "printer offline cant print",
)

_CONFIG = """\
# Written by `fixedit demo`. Explore with: fixedit -c {config} status
database_url = "sqlite:///{database}"

[[sources]]
name = "helpdesk-export"
kind = "file"
path = "{fixtures}/tickets.jsonl"

[[sources]]
name = "psa-csv"
kind = "file"
path = "{fixtures}/tickets.csv"
[sources.csv]
external_id = "Ticket #"
title = "Summary"
company = "Company"
contact = "Contact"
board = "Board"
status = "Status"
priority = "Priority"
created_at = "Date Entered"
updated_at = "Last Updated"
closed_at = "Closed Date"
date_format = "%m/%d/%Y %I:%M %p"
timezone = "America/New_York"
notes = [
  {{ column = "Initial Description", kind = "description" }},
  {{ column = "Internal Notes", kind = "internal" }},
  {{ column = "Resolution", kind = "resolution" }},
]

# A file with malformed lines: they are quarantined with their reason, the rest imported.
[[sources]]
name = "messy-export"
kind = "file"
path = "{fixtures}/tickets_bad.jsonl"
"""


def write_config(workdir: Path, *, fixtures: Path = FIXTURES) -> Path:
    """Write the demo's config into `workdir` (fresh database) and return its path."""
    if not (fixtures / "tickets.jsonl").is_file():
        raise ConfigError("fixtures", f"bundled sample data not found in {fixtures}")
    workdir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (workdir / f"{DATABASE}{suffix}").unlink(missing_ok=True)
    config = workdir / "config.toml"
    config.write_text(_CONFIG.format(config=config, database=DATABASE, fixtures=fixtures),
                      encoding="utf-8")
    return config


def run_demo(*, workdir: Path, out: Console, err: Console) -> None:
    """Sync the sample sources, then show what was learned and two lookups."""
    config = write_config(workdir)
    settings = load_settings(config)
    engine = store.make_engine(settings.database_url)
    store.migrate(engine)

    out.rule("1. sync: pull, redact, store, extract")
    outcome = sync_sources(engine, settings=settings, sources=settings.sources, console=err)
    out.print(views.sync_table(outcome.reports))

    with store.session_scope(engine) as session:
        resolutions = list(store.iter_resolutions(session))
        counts = store.count_rows(session)
        out.rule("2. what was learned")
        usable = [r for r in resolutions if r.usable]
        thin = [r for r in resolutions if any(f.value == "no_resolution_detail"
                                              for f in r.quality_flags)]
        out.print(Text.assemble(
            (f"{counts['tickets']}", "bold"), " tickets stored, ",
            (f"{len(resolutions)}", "bold"), " resolutions extracted, ",
            (f"{len(usable)}", "bold green"), " reusable (problem + steps), ",
            (f"{len(thin)}", "bold yellow"), " closed with only \"fixed it\", ",
            (f"{counts['quarantined']}", "bold red"), " bad records quarantined.",
        ))
        shown = sorted(usable, key=lambda r: -r.confidence)[:12]
        out.print(views.resolutions_table(shown, title="most complete resolutions"))

        out.rule("3. lookup: has anyone fixed this before?")
        for query in SAMPLE_QUERIES:
            hits = store.search_resolutions(session, query=query, limit=2, usable_only=True)
            out.print(views.lookup_view(query, hits))

    out.rule("explore")
    out.print(f"fixedit -c {config} status\n"
              f"fixedit -c {config} lookup \"vpn disconnects every few minutes\"\n"
              f"fixedit -c {config} export records --format jsonl | head -n 1")
    if outcome.failures:
        raise ConfigError("sources", "demo sources failed: " + ", ".join(outcome.failures))
