"""A first sync killed part-way through its backfill resumes where it stopped (issue 3).

Over real HTTP from the sandbox: the backfill walks narrow windows, the run is killed after a few
stored batches, and the stored cursor points inside the history. The next run must finish with
every ticket and note stored exactly once, and must not re-read the windows already done.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

import store
from connectors.incremental import from_iso
from connectors.sandbox.base import VENDORS
from connectors.sandbox.runner import Sandbox, render_sources_toml
from extract import Extractor
from fixedit.pipeline import sync_source
from fixedit.settings import load_settings
from records import Batch, Cursor

CONNECTORS = {
    "connectwise": "connectors.connectwise:ConnectWise",
    "autotask": "connectors.autotask:Autotask",
    "halopsa": "connectors.halopsa:HaloPsa",
}


class Killed(Exception):
    """Stands for the process being killed mid-sync."""


class KillAfter:
    """Passes batches through, then dies after `batches` of them, like a killed daemon."""

    def __init__(self, inner: object, batches: int) -> None:
        self.inner, self.batches = inner, batches
        self.name = inner.name  # type: ignore[attr-defined]
        self.kinds = inner.kinds  # type: ignore[attr-defined]

    def check(self) -> None:
        self.inner.check()  # type: ignore[attr-defined]

    def pull(self, kind: str, *, since: Cursor | None) -> Iterator[Batch]:
        for number, batch in enumerate(self.inner.pull(kind, since=since), start=1):  # type: ignore[attr-defined]
            yield batch
            if number == self.batches:
                raise Killed("killed mid-backfill")


@pytest.mark.parametrize("vendor", VENDORS)
def test_killed_backfill_resumes_without_loss_or_duplicates(
    vendor: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extractor = Extractor()
    with Sandbox([vendor]) as sandbox:
        [table] = sandbox.source_tables()
        table = {**table, "backfill_slice": "45d", "safety_lag": "0s", "page_size": 20}
        config = tmp_path / "config.toml"
        config.write_text(render_sources_toml([table]), encoding="utf-8")
        for name, value in sandbox.secret_env().items():
            monkeypatch.setenv(name, value)
        settings = load_settings(config).source(vendor)
        module, _, cls = CONNECTORS[vendor].partition(":")
        with httpx.Client(timeout=30) as client:
            connector = getattr(importlib.import_module(module), cls)(
                settings, client=client, sleep=lambda _seconds: None)
            with pytest.raises(Killed):
                sync_source(engine, source=vendor, connector=KillAfter(connector, 5),
                            kind="ticket", extractor=extractor)
            with store.session_scope(engine) as session:
                cursor = store.get_cursor(session, source=vendor, kind="ticket")
                stored_before = store.live_external_ids(session, source=vendor, kind="ticket")
            assert cursor is not None, "nothing was checkpointed before the kill"
            first_start = from_iso(str(table["start_date"]) + "T00:00:00Z")
            assert from_iso(cursor.value) > first_start or cursor.slice, (
                "the checkpoint does not move into the history")
            assert 0 < len(stored_before) < len(sandbox.emulation(vendor).expected())

            requests_before = sandbox.stats()["requests"][vendor]
            report = sync_source(engine, source=vendor, connector=connector, kind="ticket",
                                 extractor=extractor)
            assert report.status == "succeeded"
            resumed_requests = sandbox.stats()["requests"][vendor] - requests_before

    expected = sandbox.emulation(vendor).expected()
    with store.session_scope(engine) as session:
        live = store.live_external_ids(session, source=vendor, kind="ticket")
        counts = store.count_rows(session)
        for ticket_id in list(expected)[:25]:
            stored = store.get_ticket(session, source=vendor, external_id=ticket_id)
            assert stored is not None
            assert {note.external_id for note in stored.notes} == set(expected[ticket_id])
    assert live == set(expected)
    assert counts["notes"] == sum(len(notes) for notes in expected.values())
    # Resuming re-read only what the kill interrupted: the created count is what was left.
    assert report.counts["created"] == len(expected) - len(stored_before)
    assert resumed_requests > 0
