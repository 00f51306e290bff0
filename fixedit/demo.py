"""`fixedit demo`: the real path end to end on the bundled sandbox, then exit.

It starts the sandbox (ConnectWise, Autotask and HaloPSA emulated over real HTTP on 127.0.0.1 from
`fixtures/<vendor>/`), writes an ordinary config into its work folder, and syncs with the real
connectors. What it stored can be explored afterwards with the normal commands
(`fixedit -c .fixedit-demo/config.toml lookup "..."`).
"""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console
from rich.text import Text

import store
from connectors.sandbox.base import FIXTURES
from connectors.sandbox.runner import Sandbox, render_sources_toml
from fixedit import views
from fixedit.runs import sync_sources
from fixedit.settings import load_settings
from records import ConfigError

DATABASE = "demo.sqlite"
SAMPLE_QUERIES = (
    "outlook keeps prompting for password",
    "printer offline cant print",
)


def write_config(workdir: Path, sandbox: Sandbox) -> Path:
    """Write the demo's config (sources served by `sandbox`, a fresh database) into `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        (workdir / f"{DATABASE}{suffix}").unlink(missing_ok=True)
    config = workdir / "config.toml"
    config.write_text(
        f"# Written by `fixedit demo`. The sandbox it synced from ({sandbox.url}) has stopped;\n"
        f"# explore what was stored with: fixedit -c {config} status\n"
        f'database_url = "sqlite:///{DATABASE}"\n\n'
        + render_sources_toml(sandbox.source_tables()),
        encoding="utf-8",
    )
    return config


def run_demo(*, workdir: Path, out: Console, err: Console) -> None:
    """Sync the sample sources, then show what was learned and two lookups."""
    with Sandbox(fixtures=FIXTURES) as sandbox:
        config = write_config(workdir, sandbox)
        # The sandbox's fake credentials, for this process only: secrets come from the env.
        os.environ.update(sandbox.secret_env())
        settings = load_settings(config)
        engine = store.make_engine(settings.database_url)
        store.migrate(engine)
        out.rule(f"1. sync from the sandbox at {sandbox.url}: pull, redact, store, extract")
        outcome = sync_sources(engine, settings=settings, sources=settings.sources,
                               console=err)
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
            (f"{counts['quarantined']}", "bold red"), " malformed vendor records quarantined.",
        ))
        shown = sorted(usable, key=lambda r: -r.confidence)[:12]
        out.print(views.resolutions_table(shown, title="most complete resolutions"))

        out.rule("3. lookup: has anyone fixed this before?")
        index = store.SearchIndex(engine)
        for query in SAMPLE_QUERIES:
            out.print(views.lookup_view(query, index.search(query, limit=2)))

    out.rule("explore")
    out.print(f"fixedit -c {config} status\n"
              f"fixedit -c {config} lookup \"vpn disconnects every few minutes\"\n"
              f"fixedit -c {config} export records --format jsonl | head -n 1")
    if outcome.failures:
        raise ConfigError("sources", "demo sources failed: " + ", ".join(outcome.failures))
