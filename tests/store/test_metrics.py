"""Knowledge capture and reuse metrics, computed from a store with known contents."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from fixedit.cli import app
from records import EvidencedText, QualityFlag
from store import (
    make_engine,
    migrate,
    pending_extraction,
    save_resolution,
    session_scope,
    upsert_ticket,
)
from store.lookup import Match
from store.metrics import Metrics, compute_metrics, problem_terms
from store.tables import ResolutionRow
from store.usage import record_feedback, record_lookup
from tests.factories import BASE_TIME, make_resolution, make_ticket

FIXED_IT = [QualityFlag.NO_RESOLUTION_DETAIL, QualityFlag.NO_STEPS]


def _store(session: Session, ticket_overrides: dict[str, Any],
           resolution_overrides: dict[str, Any] | None) -> int | None:
    """Store one ticket and, unless `resolution_overrides` is None, its resolution; its row id."""
    ticket = make_ticket(**ticket_overrides)
    upsert_ticket(session, ticket=ticket)
    if resolution_overrides is None:
        return None
    [item] = [p for p in pending_extraction(session, extractor_version="test-1")
              if p.ticket.external_id == ticket.external_id]
    overrides = {"company": ticket.company, **resolution_overrides}
    save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                    resolution=make_resolution(ticket=ticket, **overrides))
    return session.exec(select(ResolutionRow.id).where(
        col(ResolutionRow.external_id) == ticket.external_id)).one()


def _fixed_it(**overrides: Any) -> dict[str, Any]:
    return {"steps": [], "cause": None, "verification": None, "quality_flags": FIXED_IT,
            "title": "fixed it", **overrides}


def _text(value: str) -> EvidencedText:
    return EvidencedText(text=value)


def _seed(engine: sa.Engine) -> dict[str, int | None]:
    ids: dict[str, int | None] = {}
    with session_scope(engine) as session:
        # Acme: 4 closed tickets, 3 with a resolution, 2 of them usable; 1 open ticket.
        ids["printer1"] = _store(session, {}, {"technician": "Sam Tech"})
        ids["printer2"] = _store(
            session, {}, {"technician": "Sam Tech",
                          "closed_at": BASE_TIME + timedelta(days=2)})
        ids["fixed"] = _store(session, {}, _fixed_it(technician="Kim Tech", board="Projects"))
        _store(session, {}, None)
        _store(session, {"status": "New", "closed_at": None}, None)
        # Beta: 2 closed tickets sharing an error code, one a bare "fixed it" by Sam.
        beta = {"company": "Beta Law"}
        code = [_text("0x80070005")]
        ids["vpn1"] = _store(session, beta, {
            "title": "VPN fails with 0x80070005", "category": "network", "products": [],
            "error_codes": code, "problem": _text("VPN client cannot connect")})
        ids["vpn2"] = _store(session, beta, _fixed_it(
            category="network", error_codes=code, products=[], technician="Sam Tech",
            problem=_text("VPN drops")))
        # Terms-only group: two Outlook tickets with no code or product in common.
        ids["ol1"] = _store(session, beta, {
            "title": "Outlook keeps asking for password", "category": "email", "products": [],
            "problem": _text("Outlook password prompt loops")})
        ids["ol2"] = _store(session, beta, {
            "title": "Password prompt in Outlook again", "category": "email", "products": [],
            "problem": _text("Outlook shows a password prompt on every start"),
            "closed_at": BASE_TIME + timedelta(days=3)})
        ids["ol_other"] = _store(session, beta, {
            "title": "Calendar sharing", "category": "email", "products": [],
            "problem": _text("Cannot share calendar with assistant")})
    return ids


def test_metrics_over_the_whole_store(engine: sa.Engine) -> None:
    ids = _seed(engine)
    with session_scope(engine) as session:
        printer = session.exec(select(ResolutionRow).where(
            col(ResolutionRow.id) == ids["printer1"])).one()
        match = Match(resolution_id=printer.id or 0, resolution=make_resolution(), score=9.0,
                      confident=True)
        first = record_lookup(session, channel="api", matches=[match], company="Acme Dental")
        record_lookup(session, channel="mcp", matches=[])
        record_lookup(session, channel="suggest", matches=[match], company="Beta Law")
        for helpful in (True, True, False):
            record_feedback(session, resolution_id=printer.id or 0, helpful=helpful,
                            lookup_id=first)
        metrics = compute_metrics(session)

    assert metrics.company is None
    # 9 closed tickets: 8 extracted (one never was), 2 bare "fixed it" → 6 usable.
    assert metrics.retention.model_dump() == {
        "closed_tickets": 9, "extracted": 8, "usable": 6, "rate": round(6 / 9, 4)}
    assert metrics.fixed_it.model_dump() == {
        "name": None, "resolutions": 8, "fixed_it": 2, "rate": 0.25}
    by_tech = {row.name: (row.resolutions, row.fixed_it, row.rate)
               for row in metrics.fixed_it_by_technician}
    assert by_tech == {"Sam Tech": (7, 1, round(1 / 7, 4)), "Kim Tech": (1, 1, 1.0)}
    assert metrics.fixed_it_by_technician[0].name == "Sam Tech"
    by_board = {row.name: (row.resolutions, row.fixed_it) for row in metrics.fixed_it_by_board}
    assert by_board == {"Service Desk": (7, 1), "Projects": (1, 1)}
    assert metrics.reuse.model_dump() == {
        "lookups": 3, "by_channel": {"api": 1, "mcp": 1, "suggest": 1},
        "confident_lookups": 2, "confident_rate": round(2 / 3, 4),
        "feedback": 3, "helpful": 2, "helpful_rate": round(2 / 3, 4)}

    recurring = {(p.category, p.kind, p.signature): p for p in metrics.recurring_problems}
    printers = recurring[("printing", "product", "hp laserjet m404")]
    # Newest first: printer2 closed two days later.
    assert printers.count == 3
    assert printers.example_resolution_ids[0] == ids["printer2"]
    assert sorted(printers.example_resolution_ids) == sorted(
        [ids["printer1"], ids["printer2"], ids["fixed"]])
    vpn = recurring[("network", "error_code", "0X80070005")]
    assert (vpn.count, sorted(vpn.example_resolution_ids)) == (2, sorted([ids["vpn1"],
                                                                          ids["vpn2"]]))
    outlook = recurring[("email", "terms", "outlook password")]
    assert outlook.example_resolution_ids == [ids["ol2"], ids["ol1"]]
    assert outlook.example_title == "Password prompt in Outlook again"
    assert all(ids["ol_other"] not in p.example_resolution_ids for p in recurring.values())
    assert [p.count for p in metrics.recurring_problems] == sorted(
        (p.count for p in metrics.recurring_problems), reverse=True)


def test_company_scoping_filters_every_figure(engine: sa.Engine) -> None:
    ids = _seed(engine)
    with session_scope(engine) as session:
        match = Match(resolution_id=ids["vpn1"] or 0, resolution=make_resolution(), score=2.0,
                      confident=False)
        record_lookup(session, channel="api", matches=[match], company="Beta Law")
        record_lookup(session, channel="api", matches=[match], company="Acme Dental")
        record_feedback(session, resolution_id=ids["vpn1"] or 0, helpful=False)
        record_feedback(session, resolution_id=ids["printer1"] or 0, helpful=True)
        beta = compute_metrics(session, company="Beta Law")
        nobody = compute_metrics(session, company="Nobody Inc")
    assert beta.company == "Beta Law"
    assert (beta.retention.closed_tickets, beta.retention.usable) == (5, 4)
    assert (beta.fixed_it.resolutions, beta.fixed_it.fixed_it) == (5, 1)
    assert (beta.reuse.lookups, beta.reuse.confident_lookups) == (1, 0)
    assert (beta.reuse.feedback, beta.reuse.helpful, beta.reuse.helpful_rate) == (1, 0, 0.0)
    assert {p.category for p in beta.recurring_problems} == {"network", "email"}
    assert nobody.retention.rate is None and nobody.fixed_it.rate is None
    assert nobody.reuse.confident_rate is None and nobody.recurring_problems == []
    assert nobody.fixed_it_by_technician == []


def test_metrics_is_a_frozen_documented_model(session: Session) -> None:
    metrics = compute_metrics(session)
    assert metrics.retention.closed_tickets == 0 and metrics.recurring_problems == []
    schema = Metrics.model_json_schema()
    assert "retention" in schema["properties"]
    assert Metrics.model_validate_json(metrics.model_dump_json()) == metrics
    assert Metrics.model_config.get("frozen") is True


def test_fixed_it_text_inside_a_note_is_not_a_flag(engine: sa.Engine) -> None:
    """The flag is matched as a JSON string in the payload; the words in a step are not it."""
    with session_scope(engine) as session:
        _store(session, {}, {"steps": [_text('typed "no_resolution_detail" in the form')]})
        metrics = compute_metrics(session)
    assert (metrics.fixed_it.resolutions, metrics.fixed_it.fixed_it) == (1, 0)


def test_problem_terms_drop_noise() -> None:
    assert problem_terms("User can't print: ticket 12345, HP at 2nd floor") == frozenset(
        {"print", "ticket", "2nd", "floor"})


def test_cli_metrics_table_and_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    migrate(engine)
    try:
        ids = _seed(engine)
    finally:
        engine.dispose()
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    runner = CliRunner()
    as_json = runner.invoke(app, ["-c", str(config), "metrics", "--json", "--company",
                                  "Beta Law"])
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    assert data["company"] == "Beta Law" and data["retention"]["closed_tickets"] == 5
    assert Metrics.model_validate(data).fixed_it.fixed_it == 1
    table = runner.invoke(app, ["-c", str(config), "metrics"])
    assert table.exit_code == 0, table.output
    assert "context retention" in table.output and "67%" in table.output
    assert "Kim Tech" in table.output and "most recurring problems" in table.output
    assert str(ids["printer2"]) in table.output
