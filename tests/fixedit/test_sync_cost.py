"""What a first sync costs in requests: close to what the vendor API allows (issue 3, item 9).

Counts, not timings: a regression that re-reads every ticket's notes twice doubles these.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from connectors.sandbox.runner import Sandbox, render_sources_toml
from extract import Extractor
from fixedit.pipeline import sync_source
from fixedit.settings import load_settings
from fixedit.sources import kinds_in_order, open_connector
from store import make_engine, migrate

CHILD_ENDPOINT = {"connectwise": "allNotes", "halopsa": "/api/Actions"}


@pytest.mark.parametrize("vendor", sorted(CHILD_ENDPOINT))
def test_first_sync_reads_each_tickets_notes_once(
    vendor: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine: Engine = make_engine(f"sqlite:///{tmp_path / 'cost.sqlite'}")
    migrate(engine)
    with Sandbox([vendor]) as sandbox:
        config = tmp_path / "config.toml"
        config.write_text(render_sources_toml(sandbox.source_tables()), encoding="utf-8")
        for name, value in sandbox.secret_env().items():
            monkeypatch.setenv(name, value)
        source = load_settings(config).source(vendor)
        with open_connector(source) as connector:
            for kind in kinds_in_order(connector):
                sync_source(engine, source=vendor, connector=connector, kind=kind,
                            extractor=Extractor())
        stats = sandbox.stats()
        tickets = len(sandbox.emulation(vendor).ticket_ids())
    child_calls = sum(count for endpoint, count in stats["endpoints"][vendor].items()
                      if CHILD_ENDPOINT[vendor] in endpoint)
    assert child_calls <= tickets * 1.05, (
        f"{vendor}: {child_calls} child reads for {tickets} tickets")
