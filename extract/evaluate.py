"""Score resolutions against the labelled tickets: per role and per field, beside a baseline.

Roles are scored on spans: a predicted evidence span counts for a gold sentence of the same role
in the same note when they overlap by at least half of the shorter one. Text fields count as
right when their word overlap with the gold text (F1 over lower-cased words) is at least 0.5;
lists are matched one to one by the same rule. Outcome and category are accuracies.

The baseline is what a team without fixedit has: the first note is the problem, the clauses of
the last technician note are the steps, the ticket is resolved if it is closed, and every ticket
gets the commonest category of the training split.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from extract.labelled import ROLES, LabelledSpan, LabelledTicket
from records import AuthorRole, Evidence, EvidencedText, Outcome, Resolution, Ticket

ROLE_FIELDS = {"symptoms": "symptom", "problem": "symptom", "cause": "cause", "steps": "action",
               "failed_attempts": "failed_attempt", "verification": "verification"}
TEXT_FIELDS = ("problem", "cause", "verification")
LIST_FIELDS = ("steps", "failed_attempts", "products", "error_codes")
_WORD = re.compile(r"[a-z0-9]+")
_CLAUSE = re.compile(r"[^.;,\n!?]+")


@dataclass
class Tally:
    """Counts for precision and recall."""

    predicted: int = 0
    gold: int = 0
    hit_predicted: int = 0
    hit_gold: int = 0

    @property
    def precision(self) -> float:
        """Share of predictions that were right."""
        return self.hit_predicted / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        """Share of gold items that were found."""
        return self.hit_gold / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Scores:
    """Per-role and per-field tallies, and accuracies, over one set of tickets."""

    tickets: int = 0
    roles: dict[str, Tally] = field(default_factory=dict)
    fields: dict[str, Tally] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)


def _words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.lower()))


def text_match(predicted: str, gold: str) -> bool:
    """Word-overlap F1 of at least 0.5."""
    p, g = _words(predicted), _words(gold)
    common = sum((p & g).values())
    if not common:
        return False
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall) >= 0.5


def _match_lists(predicted: Sequence[str], gold: Sequence[str], tally: Tally) -> None:
    tally.predicted += len(predicted)
    tally.gold += len(gold)
    free = list(gold)
    for item in predicted:
        for index, candidate in enumerate(free):
            if text_match(item, candidate):
                tally.hit_predicted += 1
                tally.hit_gold += 1
                del free[index]
                break


def _where(evidence: Evidence) -> str:
    return evidence.note_id if evidence.field == "note" and evidence.note_id else evidence.field


def predicted_spans(resolution: Resolution) -> list[LabelledSpan]:
    """The role of every evidence span a resolution cites."""
    spans = []
    for name, role in ROLE_FIELDS.items():
        value = getattr(resolution, name)
        items: Iterable[EvidencedText] = value if isinstance(value, list) else (
            [value] if value is not None else [])
        for item in items:
            spans.extend(LabelledSpan(where=_where(e), start=e.start, end=e.end, role=role,
                                      text=e.text) for e in item.evidence)
    return spans


def _overlaps(a: LabelledSpan, b: LabelledSpan) -> bool:
    if a.where != b.where:
        return False
    shared = min(a.end, b.end) - max(a.start, b.start)
    return shared > 0 and shared * 2 >= min(a.end - a.start, b.end - b.start)


def _score_roles(gold: Sequence[LabelledSpan], predicted: Sequence[LabelledSpan],
                 tallies: dict[str, Tally]) -> None:
    predicted = list(dict.fromkeys(predicted))  # one span cited twice counts once
    for role in ROLES[:-1]:
        tally = tallies.setdefault(role, Tally())
        gold_r = [g for g in gold if g.role == role]
        pred_r = [p for p in predicted if p.role == role]
        tally.gold += len(gold_r)
        tally.predicted += len(pred_r)
        tally.hit_gold += sum(any(_overlaps(g, p) for p in pred_r) for g in gold_r)
        tally.hit_predicted += sum(any(_overlaps(p, g) for g in gold_r) for p in pred_r)


def _as_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(item) for item in value if item]
    return [str(value)] if value else []


def score(tickets: Sequence[LabelledTicket],
          predict: Callable[[Ticket], Resolution]) -> Scores:
    """Score `predict` on the labelled `tickets`."""
    scores = Scores(tickets=len(tickets))
    right: Counter[str] = Counter()
    flag = scores.fields.setdefault("no_resolution_detail", Tally())
    for labelled in tickets:
        resolution = predict(labelled.ticket)
        gold = labelled.fields
        _score_roles(labelled.spans, predicted_spans(resolution), scores.roles)
        for name in TEXT_FIELDS:
            value = getattr(resolution, name)
            _match_lists([value.text] if value else [], _as_list(gold.get(name)),
                         scores.fields.setdefault(name, Tally()))
        for name in LIST_FIELDS:
            _match_lists([item.text for item in getattr(resolution, name)],
                         _as_list(gold.get(name)), scores.fields.setdefault(name, Tally()))
        right["outcome"] += resolution.outcome.value == gold.get("outcome")
        right["category"] += resolution.category == gold.get("category")
        flagged = any(f.value == "no_resolution_detail" for f in resolution.quality_flags)
        expected = bool(gold.get("no_resolution_detail"))
        flag.predicted += flagged
        flag.gold += expected
        flag.hit_predicted += flagged and expected
        flag.hit_gold += flagged and expected
    scores.accuracy = {name: right[name] / len(tickets) if tickets else 0.0
                       for name in ("outcome", "category")}
    return scores


def _clauses(text: str, where: str) -> list[EvidencedText]:
    items = []
    for match in _CLAUSE.finditer(text):
        clause = match.group().strip()
        if len(clause) < 3:
            continue
        start = match.start() + match.group().index(clause)
        evidence = Evidence(field="note" if where not in ("title", "description") else where,
                            note_id=where if where not in ("title", "description") else None,
                            start=start, end=start + len(clause), text=clause)
        items.append(EvidencedText(text=clause, evidence=[evidence]))
    return items


def baseline(ticket: Ticket, *, category: str = "other") -> Resolution:
    """First note is the problem, last technician note's clauses are the steps."""
    notes = sorted(ticket.notes, key=lambda note: note.created_at)
    if ticket.description.strip():
        problem = _clauses(ticket.description, "description")[:1]
    elif notes:
        problem = _clauses(notes[0].text, notes[0].external_id)[:1]
    else:
        problem = _clauses(ticket.title, "title")[:1]
    technician = [n for n in notes if n.author_role is AuthorRole.TECHNICIAN]
    steps = _clauses(technician[-1].text, technician[-1].external_id) if technician else []
    title = EvidencedText(text=ticket.title or f"Ticket {ticket.external_id}")
    return Resolution(
        ticket=ticket.ref, title=title, problem=problem[0] if problem else None, steps=steps,
        outcome=Outcome.RESOLVED if ticket.closed_at else Outcome.UNKNOWN, category=category,
        confidence=0.5, extractor_version="baseline")


def commonest_category(tickets: Iterable[LabelledTicket]) -> str:
    """The category the baseline gives every ticket: the commonest in `tickets`."""
    counts = Counter(str(t.fields.get("category", "other")) for t in tickets)
    return counts.most_common(1)[0][0] if counts else "other"
