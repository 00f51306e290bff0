"""Build one Resolution from everything read in a ticket.

Every text in the Resolution is an EvidencedText whose evidence points at the note (or the title
or description) and the character span of the original stored text it came from. Steps keep the
ticket's chronological order; a step repeated in a later note (a resolution note summing up the
work, a time entry copying it) is kept once with the evidence of both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from extract.analysis import Analysis, Segment
from extract.categories import categorise
from extract.classifiers import best, category_row, predict_category
from extract.entities import ERROR_CODE, KB_REF, PRODUCT, product_categories
from extract.hosts import find_hosts
from extract.outcome import decide_outcome, is_closed_status, note_outcome
from extract.redact import MARKER_PATTERN
from extract.roles import Context, Role, normalise
from extract.sources import Source
from records import Evidence, EvidencedText, Outcome, QualityFlag, Resolution, Ticket

__all__ = ["build_resolution", "category_inputs"]

_TITLE_PREFIX = re.compile(
    r"^(?:\s*(?:re|fw|fwd|aw|wg|tr)\s*:\s*|\s*\[[^\]]{1,30}\]\s*"
    r"|\s*(?:ticket|case|incident|sr|req(?:uest)?)\s*#?\s*\d+\s*[:\-–]\s*)+",
    re.IGNORECASE,
)
_GENERIC_TITLE = frozenset({
    "help", "issue", "problem", "urgent", "ticket", "request", "question", "support", "help desk",
    "helpdesk", "it issue", "it help", "computer issue", "computer problem", "new ticket", "",
})
_WORDS = re.compile(r"[a-z0-9]+")
_MAX_EVIDENCE = 5
_MAX_SYMPTOMS = 8
_READ_CONTEXTS = (Context.DESCRIPTION, Context.CUSTOMER, Context.TECHNICIAN)
_AFTER_REPORT = (Context.CUSTOMER, Context.TECHNICIAN)


class _Collector:
    """Ordered, de-duplicated EvidencedTexts: a repeat adds its evidence to the first."""

    def __init__(self) -> None:
        self._items: list[tuple[frozenset[str], str, list[Evidence]]] = []

    def add(self, key_text: str, text: str, evidence: Iterable[Evidence]) -> None:
        """Add an item, or merge its evidence into an earlier item with (nearly) the same words."""
        words = frozenset(_WORDS.findall(normalise(key_text)))
        for seen, _, found in self._items:
            overlap = len(words & seen) / max(len(words | seen), 1)
            if words == seen or (min(len(words), len(seen)) >= 3 and overlap >= 0.8):
                # Only the first _MAX_EVIDENCE spans are kept: stop comparing once full, so a
                # note repeating one line thousands of times stays linear.
                for item in evidence:
                    if len(found) >= _MAX_EVIDENCE:
                        break
                    if item not in found:
                        found.append(item)
                return
        self._items.append((words, text, list(evidence)))

    def items(self) -> list[EvidencedText]:
        """The collected items, first-seen order, evidence capped."""
        return [EvidencedText(text=text, evidence=evidence[:_MAX_EVIDENCE])
                for _, text, evidence in self._items]


def _evidenced(segment: Segment) -> tuple[str, list[Evidence]]:
    """Text and evidence of a segment, including the follow-ups linked to it."""
    evidence = [segment.source.evidence(segment.start, segment.end)]
    text = segment.text
    for linked in segment.linked:
        evidence.append(linked.source.evidence(linked.start, linked.end))
        text = f"{text} — {linked.text}"
    return text, evidence


def _collect(segments: Iterable[Segment], limit: int | None = None) -> list[EvidencedText]:
    collector = _Collector()
    for segment in segments:
        text, evidence = _evidenced(segment)
        collector.add(segment.text, text, evidence)
    items = collector.items()
    return items[:limit] if limit else items


def _title_statement(analysis: Analysis) -> EvidencedText | None:
    """The ticket title without "RE:"/"[External]"/"Ticket #123 -" prefixes, with evidence."""
    title: Source = analysis.sources[0]
    text = title.clean.text
    prefix = _TITLE_PREFIX.match(text)
    start = prefix.end() if prefix else 0
    end = len(text.rstrip(" .!?:-"))
    if end <= start or normalise(text[start:end]) in _GENERIC_TITLE:
        return None
    return EvidencedText(text=text[start:end], evidence=[title.evidence(start, end)])


def _problem(analysis: Analysis, title: EvidencedText | None) -> EvidencedText | None:
    """The best problem statement: a telling title, else the first reported symptom."""
    title_segments = [s for s in analysis.segments if s.source.context is Context.TITLE]
    title_tells = title is not None and (len(title.text.split()) >= 3 or (
        any(Role.SYMPTOM in s.roles for s in title_segments)
        or any(m.source.context is Context.TITLE for m in analysis.mentions)))
    if title is not None and title_tells:
        return title
    for contexts in ((Context.DESCRIPTION, Context.CUSTOMER), (Context.TECHNICIAN,)):
        symptoms = analysis.by_role(Role.SYMPTOM, contexts=contexts)
        if symptoms:
            text, evidence = _evidenced(symptoms[0])
            return EvidencedText(text=text, evidence=evidence)
    if title is not None and len(title.text.split()) >= 2:
        return title
    for segment in analysis.segments:
        if segment.source.context is Context.DESCRIPTION and len(segment.text.split()) >= 3:
            text, evidence = _evidenced(segment)
            return EvidencedText(text=text, evidence=evidence)
    return title


def _cause(analysis: Analysis) -> EvidencedText | None:
    """The technicians' explanation if they gave one, else a customer's stated cause."""
    for contexts in ((Context.TECHNICIAN,), (Context.DESCRIPTION, Context.CUSTOMER)):
        causes = [s for s in analysis.by_role(Role.CAUSE, contexts=contexts)
                  if Role.FAILED not in s.roles]
        if causes:
            pure = [s for s in causes if Role.ACTION not in s.roles]
            text, evidence = _evidenced((pure or causes)[0])
            return EvidencedText(text=text, evidence=evidence)
    return None


def _verification(analysis: Analysis, has_steps: bool) -> EvidencedText | None:
    """The last check that the fix worked; a bare "works now" counts only after real steps."""
    checks = analysis.by_role(Role.VERIFICATION, contexts=_AFTER_REPORT)
    real = [s for s in checks if Role.CLOSURE not in s.roles]
    chosen = real or (checks if has_steps else [])
    if not chosen:
        return None
    text, evidence = _evidenced(chosen[-1])
    return EvidencedText(text=text, evidence=evidence)


def _entities(analysis: Analysis, label: str) -> list[EvidencedText]:
    found: dict[str, list[Evidence]] = {}
    for item in analysis.mentions:
        if item.mention.label != label:
            continue
        evidence = item.source.evidence(item.mention.start, item.mention.end)
        bucket = found.setdefault(item.mention.value, [])
        if evidence not in bucket:
            bucket.append(evidence)
    return [EvidencedText(text=value, evidence=evidence[:_MAX_EVIDENCE])
            for value, evidence in found.items()]


def _hosts(analysis: Analysis) -> list[EvidencedText]:
    found: dict[str, list[Evidence]] = {}
    for source in analysis.sources:
        for host in find_hosts(source.clean.text):
            bucket = found.setdefault(host.name, [])
            evidence = source.evidence(host.start, host.end)
            if evidence not in bucket:
                bucket.append(evidence)
    return [EvidencedText(text=name, evidence=evidence[:_MAX_EVIDENCE])
            for name, evidence in found.items()]


def _note_outcomes(analysis: Analysis) -> list[Outcome | None]:
    """What each note (oldest first) says about how the ticket ended."""
    outcomes: list[Outcome | None] = []
    for source in analysis.sources:
        if source.field != "note":
            continue
        roles = set().union(*(s.roles for s in analysis.segments if s.source is source))
        says_done = bool(roles & {Role.VERIFICATION, Role.CLOSURE})
        outcomes.append(note_outcome(normalise(source.clean.text), says_done=says_done))
    return outcomes


_CATEGORY_WEIGHTS = {Context.TITLE: 3.0, Context.DESCRIPTION: 2.0, Context.CUSTOMER: 2.0,
                     Context.TECHNICIAN: 1.0, Context.SYSTEM: 0.0}
# Chosen on the dev split (see `extract.train`): the model, which also reads the rules' keyword
# vote as a feature, is right more often than that vote at any confidence (dev accuracy .78 vs
# .76), so it decides; raise this to let the keyword vote stand below a confidence.
CATEGORY_THRESHOLD = 0.0


def category_inputs(analysis: Analysis) -> tuple[str, str, str]:
    """The category model's row for a ticket: its opening texts, its notes, the rule votes."""
    lookup = product_categories()
    votes = [(lookup[m.mention.product], _CATEGORY_WEIGHTS[m.source.context])
             for m in analysis.mentions if m.mention.product in lookup]
    rule = categorise([(s.clean.text, _CATEGORY_WEIGHTS[s.context]) for s in analysis.sources],
                      votes)
    opening = " ".join(s.clean.text for s in analysis.sources if s.field != "note")
    notes = [s.clean.text for s in analysis.sources
             if s.field == "note" and s.context is not Context.SYSTEM]
    return category_row(opening, notes, rule, [category for category, _ in votes])


def _category(analysis: Analysis) -> str:
    """The model's category when it is sure enough, else the rules' keyword vote."""
    row = category_inputs(analysis)
    rule = row[2].split(" ", 1)[0].removeprefix("rule=")
    if not (row[0].strip() or row[1].strip()):
        return rule  # nothing to read: the model would only guess the commonest category
    label, confidence = best(predict_category(row))
    return label if confidence >= CATEGORY_THRESHOLD else rule


def _technician(ticket: Ticket, analysis: Analysis) -> str | None:
    if ticket.assignee:
        return ticket.assignee
    acting = analysis.by_role(Role.ACTION, contexts=(Context.TECHNICIAN,))
    authors = [s.source.author for s in acting if s.source.author]
    if authors:
        return authors[-1]
    notes = [s.author for s in analysis.sources if s.context is Context.TECHNICIAN and s.author]
    return notes[-1] if notes else None


def _confidence(*, problem: bool, steps: int, verification: bool, cause: bool,
                outcome: Outcome, categorised: bool, entities: bool, failed: bool,
                flags: set[QualityFlag]) -> float:
    """0..1 from what was found; a bare "fixed it" or an open ticket caps it."""
    score = (0.2 * problem + 0.3 * min(steps, 3) / 3 + 0.15 * verification + 0.1 * cause
             + 0.1 * (outcome in (Outcome.RESOLVED, Outcome.WORKAROUND)) + 0.05 * categorised
             + 0.05 * entities + 0.05 * failed)
    if QualityFlag.NO_RESOLUTION_DETAIL in flags:
        score = min(score, 0.2)
    if QualityFlag.TICKET_OPEN in flags:
        score *= 0.8
    return round(max(0.0, min(score, 1.0)), 2)


def build_resolution(ticket: Ticket, analysis: Analysis, *, version: str) -> Resolution:
    """The Resolution of `ticket` from its analysis."""
    title = _title_statement(analysis)
    problem = _problem(analysis, title)
    symptoms = _collect(analysis.by_role(Role.SYMPTOM, contexts=_READ_CONTEXTS), _MAX_SYMPTOMS)
    steps = _collect(analysis.by_role(Role.ACTION, contexts=_READ_CONTEXTS))
    failed = _collect(analysis.by_role(Role.FAILED, contexts=_READ_CONTEXTS))
    cause = _cause(analysis)
    verification = _verification(analysis, bool(steps))
    products = _entities(analysis, PRODUCT)
    error_codes = _entities(analysis, ERROR_CODE)
    kb_refs = _entities(analysis, KB_REF)
    closed = ticket.closed_at is not None or is_closed_status(ticket.status)
    outcome = decide_outcome(ticket.status, closed=closed, note_outcomes=_note_outcomes(analysis),
                             has_steps=bool(steps))
    category = _category(analysis)
    closure_said = bool(analysis.by_role(Role.CLOSURE))

    flags: set[QualityFlag] = set()
    if problem is None:
        flags.add(QualityFlag.NO_PROBLEM_STATEMENT)
    if not steps:
        flags.add(QualityFlag.NO_STEPS)
        technician_cause = analysis.by_role(Role.CAUSE, contexts=(Context.TECHNICIAN,))
        if not technician_cause and (closed or closure_said or outcome is Outcome.RESOLVED):
            flags.add(QualityFlag.NO_RESOLUTION_DETAIL)
    elif verification is None:
        flags.add(QualityFlag.UNVERIFIED)
    if not closed:
        flags.add(QualityFlag.TICKET_OPEN)
    if any(MARKER_PATTERN.search(source.original) for source in analysis.sources):
        flags.add(QualityFlag.REDACTED)

    confidence = _confidence(
        problem=problem is not None, steps=len(steps), verification=verification is not None,
        cause=cause is not None, outcome=outcome, categorised=category != "other",
        entities=bool(products or error_codes or kb_refs), failed=bool(failed), flags=flags)
    return Resolution(
        ticket=ticket.ref,
        # A ticket with no title gets a made-up one, honestly without evidence.
        title=title or problem or EvidencedText(text=f"Ticket {ticket.external_id}"),
        problem=problem,
        symptoms=symptoms,
        cause=cause,
        steps=steps,
        failed_attempts=failed,
        verification=verification,
        outcome=outcome,
        category=category,
        products=products,
        error_codes=error_codes,
        kb_refs=kb_refs,
        hosts=_hosts(analysis),
        company=ticket.company,
        technician=_technician(ticket, analysis),
        board=ticket.board,
        closed_at=ticket.closed_at,
        quality_flags=[flag for flag in QualityFlag if flag in flags],
        confidence=confidence,
        extractor_version=version,
    )
