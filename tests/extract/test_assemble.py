"""Assembly: applicability, quality score and flags on built tickets and the labelled corpus,
and the shortcuts assembly takes for speed, each checked against the slow path it replaces."""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from extract import Extractor
from extract.analysis import Analysis, analyse
from extract.assemble import (
    _CONDITION,
    _CONDITION_ANY_CASE,
    _CONDITION_GATE,
    _CONDITION_GATE_RE,
    _SCOPE,
    _SCOPE_ANY_CASE,
    _SCOPE_GATE,
    _SCOPE_GATE_RE,
    _ByRole,
    _gate_shut,
    _lowered_matches,
    _note_outcomes,
    find_ticket_hosts,
)
from extract.hosts import find_hosts
from extract.labelled import LabelledTicket, load_labelled
from extract.outcome import decide_outcome, note_outcome
from extract.roles import Context, Role, normalise
from extract.segment import with_text
from extract.sources import ticket_sources
from records import AuthorRole, NoteKind, QualityFlag, Resolution, Scope, Ticket

TicketMaker = Callable[..., Ticket]
NoteMaker = Callable[..., object]


@cache
def _labelled() -> tuple[LabelledTicket, ...]:
    return tuple(load_labelled().tickets)


@cache
def _labelled_resolutions() -> tuple[Resolution, ...]:
    return tuple(Extractor().extract_many(t.ticket for t in _labelled()))


def _analysis(extractor: Extractor, ticket: Ticket) -> Analysis:
    sources = ticket_sources(ticket)
    docs = [extractor.nlp(with_text(extractor.nlp.make_doc(s.clean.text), s.clean.text))
            for s in sources]
    return analyse(sources, docs)


def _original(ticket: Ticket, field: str, note_id: str | None) -> str:
    if field == "title":
        return ticket.title
    if field == "description":
        return ticket.description
    return next(n.text for n in ticket.notes if n.external_id == note_id)


# --- edge cases ----------------------------------------------------------------------------


def test_bare_fixed_it_scores_low_and_says_why(extractor: Extractor, ticket: TicketMaker,
                                               note: NoteMaker) -> None:
    source = ticket(title="Help", description="", notes=[
        note(1, "fixed it", kind=NoteKind.RESOLUTION, external_id="r1")])

    resolution = extractor.extract(source)

    assert QualityFlag.NO_RESOLUTION_DETAIL in resolution.quality_flags
    assert resolution.quality_score is not None and resolution.quality_score <= 0.2
    assert resolution.applicability.scope is Scope.UNKNOWN
    assert resolution.applicability.summary.startswith("Applicability unknown")


def test_full_ticket_scores_high_and_applies_generally(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    source = ticket(
        description="Outlook 2016 on Windows 11 keeps asking for my password. It only happens "
                    "when connected over VPN.",
        notes=[note(1, "Found the OST was corrupt. Rebuilt the OST, cleared cached creds in "
                       "cred mgr, re-added the account with modern auth.", external_id="t1"),
               note(2, "Tested send/recv ok, user confirmed working.",
                    kind=NoteKind.RESOLUTION, external_id="r1")])

    resolution = extractor.extract(source)
    applicability = resolution.applicability

    assert resolution.quality_flags == []
    assert resolution.quality_score is not None and resolution.quality_score >= 0.9
    assert applicability.scope is Scope.GENERAL and applicability.reasons == []
    assert [p.text for p in applicability.platforms] == ["Windows 11"]
    assert "Windows 11" not in applicability.products
    assert any(p.startswith("Microsoft Outlook") for p in applicability.products)
    assert [c.text for c in applicability.conditions] == [
        "It only happens when connected over VPN"]
    evidence = applicability.conditions[0].evidence[0]
    assert evidence.field == "description"
    assert source.description[evidence.start:evidence.end] == evidence.text
    assert applicability.summary.startswith("General fix")
    assert "Windows 11" in applicability.summary and "VPN" in applicability.summary


def test_a_step_on_the_clients_host_is_environment_specific(
        extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    text = "Restarted the print spooler on PRN01 and cleared the queue. Test page printed."
    source = ticket(title="Printing stuck", description="Nothing prints.",
                    notes=[note(1, text, external_id="t1")])

    resolution = extractor.extract(source)
    applicability = resolution.applicability

    assert applicability.scope is Scope.ENVIRONMENT
    reason = applicability.reasons[0]
    assert reason.text == "a step names this client's host PRN01"
    assert text[reason.evidence[0].start:reason.evidence[0].end] == "PRN01"
    assert applicability.summary.startswith("Specific to this client's environment")


def test_a_typo_is_a_one_off(extractor: Extractor, ticket: TicketMaker,
                             note: NoteMaker) -> None:
    source = ticket(title="Cannot log in to the portal", description="Login fails.", notes=[
        note(1, "Cause: the user had a typo in the saved username. Corrected the username, "
                "user logged in fine.", external_id="t1")])

    applicability = extractor.extract(source).applicability

    assert applicability.scope is Scope.ONE_OFF
    assert "typo" in applicability.reasons[0].text


def test_new_flags(extractor: Extractor, ticket: TicketMaker, note: NoteMaker) -> None:
    customer = ticket(title="Issue", description="Teams will not start on my laptop.", notes=[
        note(1, "I cleared the Teams cache folder and reinstalled Teams, works now.",
             author="Anita Shah",
             author_role=AuthorRole.CONTACT, kind=NoteKind.CUSTOMER_REPLY, external_id="c1")])

    resolution = extractor.extract(customer)

    assert [step.text for step in resolution.steps] == ["reinstalled Teams"]
    assert set(resolution.quality_flags) == {
        QualityFlag.GENERIC_TITLE, QualityFlag.SINGLE_STEP, QualityFlag.NO_CAUSE,
        QualityFlag.STEPS_FROM_CUSTOMER}
    # problem .2 + one step .25/3 + "works now" .15 + resolved .1 + coverage .15, x0.8 x0.9
    assert resolution.quality_score == 0.49


# --- the labelled corpus -------------------------------------------------------------------


def test_quality_separates_complete_from_bare_labelled_tickets() -> None:
    complete, bare = [], []
    for labelled, resolution in zip(_labelled(), _labelled_resolutions(), strict=True):
        fields = labelled.fields
        assert resolution.quality_score is not None
        if fields.get("no_resolution_detail"):
            bare.append(resolution.quality_score)
        elif (fields.get("cause") and len(fields.get("steps") or []) >= 2  # type: ignore[arg-type]
              and fields.get("verification") and fields.get("outcome") == "resolved"):
            complete.append(resolution.quality_score)
    assert len(complete) >= 50 and len(bare) >= 20
    assert statistics.mean(complete) >= 0.75
    assert statistics.mean(bare) <= 0.35
    assert sum(score <= 0.3 for score in bare) >= 0.8 * len(bare)


def test_labelled_records_validate_whole_and_their_new_evidence_points_home() -> None:
    scopes = set()
    for labelled, resolution in zip(_labelled(), _labelled_resolutions(), strict=True):
        # The record was validated once as a whole; a second full pass agrees with it.
        assert Resolution.model_validate_json(resolution.model_dump_json()) == resolution
        assert resolution.quality_score == resolution.computed_quality_score()
        applicability = resolution.applicability
        scopes.add(applicability.scope)
        assert applicability.summary
        if applicability.scope in (Scope.GENERAL, Scope.UNKNOWN):
            assert applicability.reasons == []
        else:
            assert applicability.reasons
        for item in [*applicability.reasons, *applicability.conditions,
                     *applicability.platforms]:
            assert item.evidence
            for evidence in item.evidence:
                original = _original(labelled.ticket, evidence.field, evidence.note_id)
                assert 0 <= evidence.start <= evidence.end <= len(original)
    assert scopes >= {Scope.GENERAL, Scope.ENVIRONMENT, Scope.UNKNOWN}


def test_reading_only_the_last_two_note_outcomes_decides_the_same(extractor: Extractor) -> None:
    for labelled in _labelled():
        analysis = _analysis(extractor, labelled.ticket)
        done = {id(s.source) for s in analysis.segments
                if s.roles & {Role.VERIFICATION, Role.CLOSURE}}
        every = [note_outcome(normalise(s.clean.text), says_done=id(s) in done)
                 for s in analysis.sources if s.field == "note"]
        for closed in (True, False):
            for status in (labelled.ticket.status, None):
                assert decide_outcome(status, closed=closed, note_outcomes=_note_outcomes(
                    analysis), has_steps=True) == decide_outcome(
                    status, closed=closed, note_outcomes=every, has_steps=True)


# --- the host shortcut and the regex gates -------------------------------------------------

_HOSTY = st.lists(st.sampled_from(
    [*"abcdrsvDCFSRV0129-._@:/\\ \n\tK", "\u212a", "\u017f", "\u0130", "\u00a0", ".com",
     "SRV", "DC0", "\\\\", "http://", "DESKTOP-"]), max_size=30).map("".join)


def _each_host(texts: list[str]) -> list[list[tuple[str, int, int]]]:
    return [[(h.name, h.start, h.end) for h in find_hosts(text)] for text in texts]


def test_ticket_hosts_equal_find_hosts_text_by_text_on_the_labelled_corpus() -> None:
    for labelled in _labelled():
        texts = [source.clean.text for source in ticket_sources(labelled.ticket)]
        assert find_ticket_hosts(texts) == _each_host(texts)


@settings(max_examples=300, deadline=None)
@given(st.lists(_HOSTY, max_size=4))
def test_ticket_hosts_equal_find_hosts_text_by_text(texts: list[str]) -> None:
    assert find_ticket_hosts(texts) == _each_host(texts)


def _gate_holds(pattern: re.Pattern[str], gate: tuple[str, ...], text: str) -> None:
    lowered = text.lower()
    for match in pattern.finditer(lowered):
        assert any(literal in match.group() for literal in gate), match.group()


def test_regex_gates_hold_on_the_labelled_corpus() -> None:
    for labelled in _labelled():
        for source in ticket_sources(labelled.ticket):
            _gate_holds(_SCOPE, _SCOPE_GATE, source.clean.text)
            _gate_holds(_CONDITION, _CONDITION_GATE, source.clean.text)


_CUEY = st.lists(st.sampled_from(
    ["only", "when", "while", "connected", "over", "the", "vpn", "wifi", "off-site", "from",
     "home", "except", "unless", "2016", "typo", "outage", "power", "resolved", "itself",
     "custom", "their", "own", "10.0.0.5", "192.168.1.20", "\\\\srv", "was", "unplugged",
     "user", "error", "no", "action", "needed", "static", "ip", "x", ".", ","]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(_CUEY)
def test_regex_gates_hold(words: list[str]) -> None:
    text = " ".join(words)
    _gate_holds(_SCOPE, _SCOPE_GATE, text)
    _gate_holds(_CONDITION, _CONDITION_GATE, text)


_CONTEXT_CHOICES = (None, (Context.DESCRIPTION, Context.CUSTOMER), (Context.TECHNICIAN,),
                    (Context.DESCRIPTION, Context.CUSTOMER, Context.TECHNICIAN))


def test_role_index_answers_as_by_role_on_the_labelled_corpus(extractor: Extractor) -> None:
    for labelled in _labelled():
        analysis = _analysis(extractor, labelled.ticket)
        by_role = _ByRole(analysis.segments)
        for role in Role:
            for contexts in _CONTEXT_CHOICES:
                assert by_role(role, contexts=contexts) == analysis.by_role(role,
                                                                            contexts=contexts)


@settings(max_examples=300, deadline=None)
@given(st.lists(_CUEY.map(" ".join), max_size=4), st.sampled_from(["", "\u0130", "\n"]))
def test_a_shut_gate_over_joined_texts_means_no_match_in_any(texts: list[str], extra: str) -> None:
    texts = [*texts, extra]
    for pattern, any_case, gate, literals in (
            (_SCOPE, _SCOPE_ANY_CASE, _SCOPE_GATE_RE, _SCOPE_GATE),
            (_CONDITION, _CONDITION_ANY_CASE, _CONDITION_GATE_RE, _CONDITION_GATE)):
        if _gate_shut(literals, texts):
            assert all(not list(_lowered_matches(pattern, any_case, gate, text))
                       for text in texts)
        else:
            # open only for a reason: a literal in some text, or a text lowering longer
            assert any(gate.search(text.lower()) or len(text.lower()) != len(text)
                       for text in texts)
