"""The first lexical search: does a technician's query put the right prior fix on top?"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from records import EvidencedText, Outcome, Resolution, Ticket
from store import (
    mark_deleted,
    pending_extraction,
    save_resolution,
    search_resolutions,
    session_scope,
    tokenize,
    upsert_ticket,
)
from tests.factories import make_resolution, make_ticket


def text(value: str) -> EvidencedText:
    return EvidencedText(text=value)


CORPUS = {
    "outlook-ost": dict(
        title="Outlook send/receive error 0x8004010F",
        problem=text("Outlook shows 0x8004010F: the data file cannot be accessed"),
        symptoms=[text("Send/receive fails with error 0x8004010F")],
        cause=text("Corrupt OST file after the mailbox migration"),
        steps=[text("Closed Outlook"), text("Renamed the OST file"),
               text("Created a new Outlook profile")],
        products=[text("Outlook 2016")], error_codes=[text("0x8004010F")],
        category="email",
    ),
    "outlook-search": dict(
        title="Outlook search returns no results",
        problem=text("Instant search in Outlook finds nothing"),
        steps=[text("Rebuilt the Windows Search index"), text("Restarted Outlook")],
        products=[text("Outlook 365")], category="email",
    ),
    "wu-access-denied": dict(
        title="Windows Update fails with 0x80070005",
        problem=text("Cumulative update fails to install: access denied 0x80070005"),
        cause=text("Permissions on SoftwareDistribution folder were wrong"),
        steps=[text("Stopped wuauserv"), text("Renamed SoftwareDistribution folder"),
               text("Ran the update again")],
        error_codes=[text("0x80070005")], kb_refs=[text("KB5034441")], category="patching",
    ),
    "printer": dict(category="printing"),  # the factory default: print spooler
    "vpn": dict(
        title="VPN disconnects every few minutes",
        problem=text("FortiClient VPN drops the tunnel"),
        steps=[text("Lowered MTU on the adapter to 1400")],
        products=[text("FortiClient 7.0")], category="network",
    ),
    "onedrive": dict(
        title="OneDrive not syncing: access denied",
        problem=text("OneDrive sync stuck, file access denied"),
        steps=[text("Reset OneDrive client")], category="files",
    ),
}


def load(session: Session, corpus: dict[str, dict[str, object]]) -> dict[str, Ticket]:
    tickets = {key: make_ticket(external_id=key) for key in corpus}
    for ticket in tickets.values():
        upsert_ticket(session, ticket=ticket)
    for item in pending_extraction(session, extractor_version="test-1"):
        fields = corpus[item.ticket.external_id]
        save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                        resolution=make_resolution(ticket=item.ticket, **fields))
    return tickets


def ranked(session: Session, query: str, **kwargs: object) -> list[str]:
    return [hit.resolution.ticket.external_id
            for hit in search_resolutions(session, query=query, **kwargs)]  # type: ignore[arg-type]


def test_tokenize_keeps_error_codes_whole_and_lowercases() -> None:
    assert tokenize("Outlook: Error 0x8004010F!") == ["outlook", "error", "0x8004010f", "8004010f"]
    assert tokenize("setup failed C1900101-0x20017") == [
        "setup", "failed", "c1900101-0x20017", "c1900101", "0x20017", "20017"]
    assert tokenize("The printer is not printing, a KB5034441 issue") == [
        "printer", "printing", "kb5034441", "issue"]
    assert tokenize("Büro-Drucker ÄNDERN") == ["büro", "drucker", "ändern"]
    assert tokenize("  ,.;  ") == []


def test_query_with_an_error_code_ranks_the_matching_fix_first(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        load(session, CORPUS)
    with session_scope(engine) as session:
        outlook = ranked(session, "Outlook error 0x8004010F when sending mail")
        update = ranked(session, "windows update access denied 0x80070005")
        bare_code = ranked(session, "80070005")
        spooler = ranked(session, "print jobs stuck in the spooler queue")
    assert outlook[:2] == ["outlook-ost", "outlook-search"]
    assert update[0] == "wu-access-denied"
    assert "onedrive" in update  # shares "access denied", ranked below
    assert bare_code == ["wu-access-denied"]
    assert spooler[0] == "printer"


def test_scores_are_descending_and_limit_is_honoured(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        load(session, CORPUS)
        hits = search_resolutions(session, query="outlook access denied error", limit=3)
    assert len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(isinstance(h.resolution, Resolution) and h.score > 0 for h in hits)


def test_resolved_outcome_wins_a_tie(engine: sa.Engine) -> None:
    same = dict(title="Mapped drive missing", problem=text("S: drive missing after login"),
                steps=[text("Re-ran the logon script")], category="files")
    with session_scope(engine) as session:
        load(session, {"workaround": {**same, "outcome": Outcome.WORKAROUND},
                       "resolved": {**same, "outcome": Outcome.RESOLVED}})
        hits = search_resolutions(session, query="mapped drive missing")
    assert [h.resolution.ticket.external_id for h in hits] == ["resolved", "workaround"]
    assert hits[0].score > hits[1].score


@pytest.mark.parametrize("query", ["", "   ", "the and of", "%", "_"])
def test_blank_or_empty_queries_find_nothing(engine: sa.Engine, query: str) -> None:
    with session_scope(engine) as session:
        load(session, {"printer": {}})
        assert search_resolutions(session, query=query) == []


def test_like_wildcards_in_tokens_are_literal(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        load(session, {"x": dict(title="Service errx101 on boot")})
        assert ranked(session, "err_101") == []
        assert ranked(session, "errx101") == ["x"]


def test_filters_and_retracted_resolutions(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        load(session, {"ok": dict(title="Spooler crash"),
                       "bare": dict(title="Spooler crash again", steps=[])})
        assert ranked(session, "spooler crash", usable_only=True) == ["ok"]
        assert ranked(session, "spooler crash", source="elsewhere") == []
        mark_deleted(session, source="sandbox", kind="ticket", external_ids=["ok"])
        assert ranked(session, "spooler crash") == ["bare"]


def test_outcome_filter_keeps_only_fixes_that_worked(engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        load(session, {"fixed": dict(title="Spooler crash fixed", outcome=Outcome.RESOLVED),
                       "open": dict(title="Spooler crash still open", outcome=Outcome.UNKNOWN)})
        everything = search_resolutions(session, query="spooler crash")
        worked = search_resolutions(session, query="spooler crash",
                                    outcomes=("resolved", "workaround"))
    assert len(everything) == 2
    assert [hit.resolution.outcome for hit in worked] == [Outcome.RESOLVED]
