"""The Extractor end to end: whole tickets in, evidence-backed Resolutions out."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator

from extract import EXTRACTOR_VERSION, Extractor
from records import (
    AuthorRole,
    Evidence,
    Note,
    NoteKind,
    Outcome,
    QualityFlag,
    Resolution,
    Ticket,
)

TicketMaker = Callable[..., Ticket]
NoteMaker = Callable[..., Note]
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def all_evidence(resolution: Resolution) -> Iterator[Evidence]:
    """Every piece of evidence anywhere in a resolution."""
    singles = [resolution.problem, resolution.cause, resolution.verification]
    lists = [resolution.symptoms, resolution.steps, resolution.failed_attempts,
             resolution.products, resolution.error_codes, resolution.kb_refs]
    for item in [*filter(None, singles), *(item for items in lists for item in items)]:
        yield from item.evidence


def original_of(ticket: Ticket, evidence: Evidence) -> str:
    """The stored text the evidence indexes."""
    if evidence.field == "title":
        return ticket.title
    if evidence.field == "description":
        return ticket.description
    return next(note.text for note in ticket.notes if note.external_id == evidence.note_id)


def assert_evidence_points_home(resolution: Resolution, ticket: Ticket) -> None:
    """Plain text: the span is exactly the evidence text. HTML: the span, tags stripped and
    entities decoded, reads as the evidence text."""
    checked = 0
    for evidence in all_evidence(resolution):
        original = original_of(ticket, evidence)
        span = original[evidence.start:evidence.end]
        if "<" in original or "&" in original:
            stripped = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", span))).strip()
            assert stripped == _SPACE.sub(" ", evidence.text).strip()
        else:
            assert span == evidence.text
        checked += 1
    assert checked


def test_whole_ticket_becomes_an_evidenced_resolution(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    notes = [
        # listed out of order on purpose: the extractor reads them by time
        note(5, "Tested send/recv ok, user confirmed working. Closing.",
             kind=NoteKind.RESOLUTION, external_id="res"),
        note(1, "Remoted in. Cleared cached creds in cred mgr, still prompting.",
             external_id="d1"),
        note(2, "Still getting the prompt after lunch.", kind=NoteKind.CUSTOMER_REPLY,
             author="Anita Shah", author_role=AuthorRole.CONTACT, external_id="c1"),
        note(3, "Found the OST was corrupt (0x8004010F in event log). Rebuilt ost, re-added "
                "account w/ modern auth.", kind=NoteKind.TIME_ENTRY, minutes=30,
             external_id="t1"),
    ]
    source = ticket(description="Since this morning Outlook keeps asking for my password and "
                                "won't send email. I already restarted my PC twice.",
                    notes=notes)

    resolution = extractor.extract(source)

    steps = [step.text for step in resolution.steps]
    assert steps == ["Remoted in", "Rebuilt ost", "re-added account w/ modern auth"]
    assert {step.evidence[0].note_id for step in resolution.steps} == {"d1", "t1"}
    failed = [attempt.text for attempt in resolution.failed_attempts]
    assert "I already restarted my PC twice" in failed
    cred_mgr = next(a for a in resolution.failed_attempts if a.text.startswith("Cleared"))
    assert {e.note_id for e in cred_mgr.evidence} == {"d1", "c1"}  # the customer said so
    assert resolution.cause is not None
    assert resolution.cause.text.startswith("Found the OST was corrupt")
    assert resolution.verification is not None
    assert resolution.verification.evidence[0].note_id == "res"
    assert resolution.problem is not None
    assert resolution.problem.text == "Outlook keeps prompting for password"
    assert resolution.problem.evidence[0].field == "title"
    assert resolution.outcome is Outcome.RESOLVED
    assert resolution.category == "email"
    assert [p.text for p in resolution.products] == ["Microsoft Outlook"]
    assert [c.text for c in resolution.error_codes] == ["0x8004010F"]
    assert resolution.quality_flags == []
    assert resolution.confidence >= 0.8
    assert resolution.extractor_version == EXTRACTOR_VERSION
    assert (resolution.company, resolution.technician, resolution.board) == (
        "Ledgerline CPAs", "Sam Tech", "Service Desk")
    assert resolution.ticket == source.ref
    assert_evidence_points_home(resolution, source)


def test_plain_text_evidence_is_the_exact_span(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    text = "remoted in, cleared cred mgr, rebuilt ost, tested send/recv ok. fixed"
    source = ticket(notes=[note(1, text, external_id="n1")])

    resolution = extractor.extract(source)

    assert [s.text for s in resolution.steps] == ["remoted in", "cleared cred mgr", "rebuilt ost"]
    for step in resolution.steps:
        evidence = step.evidence[0]
        assert text[evidence.start:evidence.end] == evidence.text == step.text
    assert resolution.verification is not None
    assert resolution.verification.text == "tested send/recv ok"


def test_html_note_evidence_covers_the_tag_stripped_text(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    text = ("<div><p>Rebuilt the <b>Outlook</b> profile &amp; cleared the OST.</p>"
            "<p>Thanks,<br>Sam Tech<br>Northgate IT<br>(410) 555-0100</p></div>")
    source = ticket(notes=[note(1, text, external_id="h1")])

    resolution = extractor.extract(source)

    assert [step.text for step in resolution.steps] == ["Rebuilt the Outlook profile",
                                                        "cleared the OST"]
    first, second = (step.evidence[0] for step in resolution.steps)
    assert text[first.start:first.end] == "Rebuilt the <b>Outlook</b> profile"
    assert text[second.start:second.end] == "cleared the OST"
    assert_evidence_points_home(resolution, source)
    assert all("Sam Tech" not in s.text for s in resolution.steps)  # the signature is gone


def test_fixed_it_only_ticket_is_flagged_and_not_trusted(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    source = ticket(
        title="label printer at check in offline",
        description="The label printer at check-in says offline. We can't print labels.",
        notes=[note(0.1, "Ticket created via email connector", author_role=AuthorRole.SYSTEM,
                    kind=NoteKind.INTERNAL, external_id="s1"),
               note(2, "fixed it", kind=NoteKind.RESOLUTION, external_id="r1"),
               note(2.1, "done", kind=NoteKind.TIME_ENTRY, minutes=15, external_id="t1")])

    resolution = extractor.extract(source)

    assert QualityFlag.NO_RESOLUTION_DETAIL in resolution.quality_flags
    assert QualityFlag.NO_STEPS in resolution.quality_flags
    assert resolution.steps == []
    assert resolution.confidence <= 0.2
    assert resolution.problem is not None  # the problem is still worth keeping
    assert resolution.category == "printing"


def test_ticket_with_no_notes_says_what_it_could_not_find(
        extractor: Extractor, ticket: TicketMaker) -> None:
    source = ticket(title="", description="", notes=[], status="New", closed_at=None)

    resolution = extractor.extract(source)

    assert resolution.problem is None
    assert resolution.steps == [] and resolution.cause is None
    assert resolution.verification is None
    assert resolution.outcome is Outcome.UNKNOWN
    assert resolution.quality_flags == [QualityFlag.NO_PROBLEM_STATEMENT, QualityFlag.NO_STEPS,
                                        QualityFlag.TICKET_OPEN]
    assert resolution.title.text == "Ticket T-1001"
    assert resolution.title.evidence == []
    assert resolution.confidence == 0.0


def test_closed_ticket_with_only_a_description(extractor: Extractor,
                                               ticket: TicketMaker) -> None:
    resolution = extractor.extract(ticket())

    assert resolution.problem is not None
    assert set(resolution.quality_flags) == {QualityFlag.NO_STEPS,
                                             QualityFlag.NO_RESOLUTION_DETAIL}


def test_a_step_repeated_in_the_resolution_note_is_kept_once_with_both_evidences(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    source = ticket(notes=[
        note(1, "Rebuilt the outlook profile.", external_id="a"),
        note(2, "Rebuilt the Outlook profile", kind=NoteKind.RESOLUTION, external_id="b"),
    ])

    resolution = extractor.extract(source)

    assert len(resolution.steps) == 1
    assert [e.note_id for e in resolution.steps[0].evidence] == ["a", "b"]


def test_a_description_also_stored_as_a_note_is_read_once(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    text = "Printer jammed again, nothing prints."
    source = ticket(title="printer", description=text, notes=[
        note(0, text, kind=NoteKind.DESCRIPTION, author_role=AuthorRole.CONTACT,
             external_id="d")])

    resolution = extractor.extract(source)

    assert len(resolution.symptoms) == 1
    assert [e.field for e in resolution.symptoms[0].evidence] == ["description"]


def test_open_escalated_ticket(extractor: Extractor, ticket: TicketMaker,
                               note: NoteMaker) -> None:
    source = ticket(status="Waiting Vendor", closed_at=None, notes=[
        note(1, "uninstalled forticlient, removed hidden adapters, reinstalled. no change"),
        note(2, "Opened Fortinet TAC case 9104422 with the debug logs"),
    ])

    resolution = extractor.extract(source)

    assert resolution.outcome is Outcome.ESCALATED
    assert QualityFlag.TICKET_OPEN in resolution.quality_flags
    assert resolution.failed_attempts


def test_unanswered_ticket_closed_for_no_response_is_unresolved(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    source = ticket(notes=[
        note(1, "Hi Rosa, could you have Maria call us when she has her phone?"),
        note(2, "Closing this ticket since we haven't heard back."),
    ])

    resolution = extractor.extract(source)

    assert resolution.outcome is Outcome.UNRESOLVED


def test_redacted_text_is_flagged(extractor: Extractor, ticket: TicketMaker,
                                  note: NoteMaker) -> None:
    source = ticket(notes=[note(1, "reset pw, temp pw is [REDACTED:password], user logged in")])

    resolution = extractor.extract(source)

    assert QualityFlag.REDACTED in resolution.quality_flags


def test_extract_many_matches_extract_one_by_one(extractor: Extractor, ticket: TicketMaker,
                                                 note: NoteMaker) -> None:
    tickets = [
        ticket(external_id="A", notes=[note(1, "rebooted spooler, cleared queue, works now")]),
        ticket(external_id="B", title="", description="", notes=[]),
        ticket(external_id="C", notes=[note(1, "fixed it")]),
    ]

    many = list(extractor.extract_many(iter(tickets)))

    assert [r.ticket.external_id for r in many] == ["A", "B", "C"]
    assert many == [extractor.extract(t) for t in tickets]
    assert list(extractor.extract_many([])) == []


def test_extractor_reuses_one_pipeline(extractor: Extractor, ticket: TicketMaker) -> None:
    nlp = extractor.nlp

    extractor.extract(ticket())

    assert extractor.nlp is nlp


def test_hosts_named_in_the_notes_are_listed_with_evidence(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    source = ticket(title="shared drive missing", description="S: drive gone after reboot",
                    notes=[note(1, "remapped S: to \\\\SRV-FS01\\shared via gpo on DC01, "
                                   "tested ok", external_id="n1")])
    resolution = extractor.extract(source)
    hosts = {item.text: item for item in resolution.hosts}
    assert {"SRV-FS01", "DC01"} <= set(hosts)
    evidence = hosts["DC01"].evidence[0]
    assert source.notes[0].text[evidence.start:evidence.end] == "DC01"
