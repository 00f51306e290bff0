"""The suggestion job against the ConnectWise sandbox over real HTTP: the real connector posts
the internal notes; the store records each ticket so nothing is posted twice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from typer.testing import CliRunner

import store
from connectors.sandbox.base import FaultRule
from connectors.sandbox.runner import Sandbox, render_sources_toml
from extract import Extractor
from extract.sources import SUGGESTION_HEADER
from fixedit.cli import app
from fixedit.settings import Settings, load_settings
from fixedit.suggest import format_note, run_suggestions
from records import AuthorRole, ConfigError, EvidencedText, Note, NoteKind, Ticket
from store.lookup import Match
from store.suggestions import get_suggestion, ticket_row_id
from store.tables import LookupRow
from tests.factories import make_resolution, make_ticket

NOW = datetime.now(UTC).replace(microsecond=0)
LIVE = {"enabled": True, "dry_run": False, "suggest": True, "suggest_limit": 2}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(["connectwise"]) as running:
        yield running


@pytest.fixture
def emulation(sandbox: Sandbox) -> Any:
    emulation = sandbox.emulation("connectwise")
    emulation.posted.clear()
    sandbox.faults.clear()
    return emulation


def _settings(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              writeback: dict[str, Any] | None) -> Settings:
    """The settings as `fixedit` loads them: TOML with the sandbox source, secrets from env."""
    [table] = sandbox.source_tables()
    if writeback is not None:
        table = {**table, "writeback": writeback}
    path = tmp_path / "config.toml"
    path.write_text(render_sources_toml([table]), encoding="utf-8")
    for name, value in sandbox.secret_env().items():
        monkeypatch.setenv(name, value)
    return load_settings(path)


def _seed(engine: sa.Engine, emulation: Any) -> dict[str, str]:
    """Prior fixes (closed tickets of another source, extracted) and new tickets opened in the
    sandbox source: one about a known problem, one nobody has seen, one closed, one too old."""
    ids = emulation.ticket_ids()
    new = {"printer": ids[0], "unknown": ids[1], "closed": ids[2], "old": ids[3]}
    with store.session_scope(engine) as session:
        for title, steps in (
            ("Print jobs stuck in queue on HP LaserJet",
             ["Restarted the Print Spooler service", "cleared the queue"]),
            ("Outlook keeps asking for password",
             ["Removed stale entries from Credential Manager", "rebuilt the OST"]),
        ):
            ticket = make_ticket(title=title)
            store.upsert_ticket(session, ticket=ticket)
            [item] = [p for p in store.pending_extraction(session, extractor_version="test-1")
                      if p.ticket.external_id == ticket.external_id]
            store.save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                                  resolution=make_resolution(
                                      ticket=ticket, title=title,
                                      steps=[EvidencedText(text=step) for step in steps]))
        opened = {"status": "New", "closed_at": None, "source": "connectwise", "notes": [],
                  "created_at": NOW - timedelta(hours=1), "updated_at": NOW, "url": None}
        store.upsert_ticket(session, ticket=make_ticket(
            **opened, external_id=new["printer"], title="Printer queue stuck again",
            description="Print jobs sit in the queue on the HP LaserJet, nothing prints."))
        store.upsert_ticket(session, ticket=make_ticket(
            **opened, external_id=new["unknown"], title="Xylophone calibration wobble",
            description="Zyzzyva quibble."))
        store.upsert_ticket(session, ticket=make_ticket(
            **{**opened, "closed_at": NOW, "status": "Closed"}, external_id=new["closed"],
            title="Printer queue stuck", description="Print jobs stuck in queue."))
        store.upsert_ticket(session, ticket=make_ticket(
            **{**opened, "created_at": NOW - timedelta(days=30),
               "updated_at": NOW - timedelta(days=30)},
            external_id=new["old"], title="Printer queue stuck",
            description="Print jobs stuck in queue."))
    return new


def _status(engine: sa.Engine, external_id: str) -> str | None:
    with store.session_scope(engine) as session:
        row_id = ticket_row_id(session, source="connectwise", external_id=external_id)
        assert row_id is not None
        found = get_suggestion(session, ticket_row_id=row_id)
    return None if found is None else found.status


def test_posts_top_matches_once_as_an_internal_note(
        sandbox: Sandbox, emulation: Any, engine: sa.Engine, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    new = _seed(engine, emulation)
    settings = _settings(sandbox, tmp_path, monkeypatch, LIVE)

    [report] = run_suggestions(engine, settings, now=NOW)

    assert report.live and report.counts == {"posted": 1, "dry_run": 0, "no_match": 1,
                                             "failed": 0}
    [note] = emulation.posted
    assert str(note["ticket"]["id"]) == new["printer"]
    assert note["internalAnalysisFlag"] is True and note["detailDescriptionFlag"] is False
    text = note["text"]
    assert text.startswith("fixedit: similar tickets were fixed before")
    assert "1. Print jobs stuck in queue on HP LaserJet [resolved" in text
    assert "Step 1: Restarted the Print Spooler service" in text
    assert "Source: https://psa.example.com/tickets/" in text
    assert "Outlook" not in text.split("2.")[0]

    with store.session_scope(engine) as session:
        row_id = ticket_row_id(session, source="connectwise", external_id=new["printer"])
        assert row_id is not None
        posted = get_suggestion(session, ticket_row_id=row_id)
        lookups = session.exec(select(LookupRow).order_by(col(LookupRow.id))).all()
    assert posted is not None and posted.status == "posted"
    assert posted.detail == str(note["id"]) and posted.resolution_ids
    assert posted.lookup_id == lookups[0].id
    assert [(row.channel, row.matches > 0) for row in lookups] == [("suggest", True),
                                                                   ("suggest", False)]
    assert _status(engine, new["unknown"]) == "no_match"
    assert _status(engine, new["closed"]) is None and _status(engine, new["old"]) is None

    [again] = run_suggestions(engine, settings, now=NOW)
    assert again.handled == 0 and len(emulation.posted) == 1


def test_a_failed_post_is_retried_next_run(
        sandbox: Sandbox, emulation: Any, engine: sa.Engine, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    new = _seed(engine, emulation)
    settings = _settings(sandbox, tmp_path, monkeypatch, LIVE)
    sandbox.faults.add(FaultRule(kind="status", status=500, path="/notes", times=1,
                                 vendor="connectwise"))

    [first] = run_suggestions(engine, settings, now=NOW)
    assert first.counts["failed"] == 1 and emulation.posted == []
    assert _status(engine, new["printer"]) == "failed"

    [second] = run_suggestions(engine, settings, now=NOW)
    assert second.counts == {"posted": 1, "dry_run": 0, "no_match": 0, "failed": 0}
    assert [str(note["ticket"]["id"]) for note in emulation.posted] == [new["printer"]]
    assert _status(engine, new["printer"]) == "posted"


def test_dry_run_logs_only_and_posts_once_switched_on(
        sandbox: Sandbox, emulation: Any, engine: sa.Engine, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    new = _seed(engine, emulation)
    dry = _settings(sandbox, tmp_path, monkeypatch, {**LIVE, "dry_run": True})
    sandbox.reset_stats()
    with caplog.at_level("INFO", logger="fixedit.suggest"):
        [report] = run_suggestions(engine, dry, now=NOW)
    assert not report.live and report.counts["dry_run"] == 1 and emulation.posted == []
    assert sandbox.stats()["requests_total"] == 0  # a dry run never calls the PSA
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert re.search(rf"would post [12] prior resolution\(s\) \(\d+ characters\) to ticket "
                     rf"{new['printer']}", logged)
    assert "Spooler" not in logged  # the note's text is never logged
    assert _status(engine, new["printer"]) == "dry_run"

    [repeat] = run_suggestions(engine, dry, now=NOW)
    assert repeat.handled == 0

    live = _settings(sandbox, tmp_path, monkeypatch, LIVE)
    [posted] = run_suggestions(engine, live, now=NOW)
    assert posted.counts["posted"] == 1 and len(emulation.posted) == 1

    [forced] = run_suggestions(engine, live, now=NOW, dry_run=True)
    assert forced.handled == 0 and len(emulation.posted) == 1


def test_suggestions_are_off_by_default(
        sandbox: Sandbox, emulation: Any, engine: sa.Engine, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    new = _seed(engine, emulation)
    settings = _settings(sandbox, tmp_path, monkeypatch, None)
    assert run_suggestions(engine, settings, now=NOW) == []
    with pytest.raises(ConfigError, match=r"sources.connectwise.writeback.suggest"):
        run_suggestions(engine, settings, sources=["connectwise"], now=NOW)
    [preview] = run_suggestions(engine, settings, sources=["connectwise"], dry_run=True,
                                now=NOW)
    assert preview.counts["dry_run"] == 1 and emulation.posted == []
    assert _status(engine, new["printer"]) == "dry_run"
    with pytest.raises(ConfigError, match="suggest = true needs enabled = true"):
        _settings(sandbox, tmp_path, monkeypatch, {"suggest": True})


def test_cli_suggest_dry_run(sandbox: Sandbox, emulation: Any, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = store.make_engine(url)
    store.migrate(engine)
    try:
        _seed(engine, emulation)
    finally:
        engine.dispose()
    [table] = sandbox.source_tables()
    config = tmp_path / "cli.toml"
    config.write_text(f'database_url = "{url}"\n\n'
                      + render_sources_toml([{**table, "writeback": LIVE}]), encoding="utf-8")
    for name, value in sandbox.secret_env().items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    result = runner.invoke(app, ["-c", str(config), "suggest", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "connectwise" in result.output and "dry run" in result.output
    assert emulation.posted == []
    unknown = runner.invoke(app, ["-c", str(config), "suggest", "--source", "nope"])
    assert unknown.exit_code == 2 and "no source named 'nope'" in unknown.output


def test_format_note_numbers_matches_and_cuts_long_steps() -> None:
    long_step = "x" * 500
    resolution = make_resolution(steps=[EvidencedText(text=f"step {n}") for n in range(6)]
                                 + [EvidencedText(text=long_step)])
    text = format_note([Match(resolution_id=7, resolution=resolution, score=3.0,
                              confident=True)])
    assert "1. Print jobs stuck in queue on HP LaserJet [resolved, confident match]" in text
    assert "Step 4: step 3" in text and "Step 5" not in text and "(+3 more steps)" in text
    assert "(fixedit resolution 7)" in text


def test_a_posted_suggestion_synced_back_adds_nothing_to_the_tickets_resolution() -> None:
    # The note fixedit posts comes back with the ticket on the next sync: its quoted steps belong
    # to other tickets and must not become this ticket's steps.
    prior = make_resolution(steps=[EvidencedText(text="Cleared the spooler folder and restarted "
                                                      "the print spooler service")])
    posted = format_note([Match(resolution_id=3, resolution=prior, score=2.0, confident=True)])
    opened = datetime(2024, 5, 6, 8, 30, tzinfo=UTC)

    def ticket(notes: list[Note]) -> Ticket:
        return Ticket(source="connectwise", external_id="T-9", title="Printer queue stuck",
                      description="Jobs sit in the queue and never print.", status="Closed",
                      created_at=opened, updated_at=opened + timedelta(hours=3), notes=notes)

    fix = Note(external_id="n2", kind=NoteKind.RESOLUTION, author="Sam Tech",
               author_role=AuthorRole.TECHNICIAN, created_at=opened + timedelta(hours=2),
               text="Replaced the driver with the PCL6 one, test page printed.")
    suggestion = Note(external_id="n1", kind=NoteKind.INTERNAL, author="fixedit",
                      author_role=AuthorRole.TECHNICIAN, created_at=opened + timedelta(hours=1),
                      text=posted)
    extractor = Extractor()
    with_suggestion = extractor.extract(ticket([suggestion, fix]))
    without = extractor.extract(ticket([fix]))

    assert posted.startswith(SUGGESTION_HEADER)
    assert [s.text for s in with_suggestion.steps] == [s.text for s in without.steps]
    assert not any("spooler" in s.text.lower() for s in with_suggestion.steps)
    assert all(evidence.note_id != "n1" for _, _, evidence in with_suggestion.evidence_spans())
