"""Metrics that show whether knowledge is captured and reused.

Four questions, each answered from the store alone:

* context retention: of the closed tickets, how many left a usable resolution (a problem and at
  least one step) behind;
* the "fixed it" rate: how many resolutions carry nothing but a bare "fixed it"
  (`QualityFlag.NO_RESOLUTION_DETAIL`), overall, per technician and per board, so a service
  manager knows whom to coach;
* capability reuse: lookups served, lookups with a confident match, and how much of the
  feedback said the suggestion helped;
* the most recurring problems: resolutions grouped by category and a shared error code, product
  or problem terms, so the next KB article is written for the problem that keeps coming back.

Every figure is scoped to one company when `company` is given (an API key limited to one
customer sees only that customer's numbers).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, case, col, func, select

from records import QualityFlag
from store.tables import FeedbackRow, LookupRow, ResolutionRow, TicketRow, utcnow

FIXED_IT_FLAG = QualityFlag.NO_RESOLUTION_DETAIL.value
TOP_RECURRING = 10
"""How many recurring problems the report lists."""
EXAMPLES = 5
"""How many example resolution ids each recurring problem shows."""
TERMS_PER_SIGNATURE = 2
"""How many shared problem terms make a signature when there is no error code or product."""
_PAGE = 500

_WORD = re.compile(r"[^\W_]+")
_STOPWORDS = frozenset({
    "a", "after", "again", "all", "an", "and", "any", "are", "as", "at", "be", "been", "but",
    "by", "can", "cannot", "cant", "could", "did", "do", "does", "doesn", "dont", "for", "from",
    "get", "getting", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into",
    "is", "issue", "issues", "it", "its", "me", "my", "no", "not", "now", "of", "on", "or", "our",
    "please", "problem", "she", "so", "some", "still", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "to", "user", "users", "was", "we", "were", "what", "when",
    "where", "which", "who", "why", "will", "with", "won", "working", "you", "your",
})


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Retention(_Frozen):
    """How much of the closed work left reusable knowledge behind."""

    closed_tickets: int = Field(description="Closed, not deleted tickets.")
    extracted: int = Field(description="Closed tickets that have an extracted resolution.")
    usable: int = Field(description="Closed tickets whose resolution has a problem and a step.")
    rate: float | None = Field(
        description="usable / closed_tickets; null when there are no closed tickets."
    )


class FixedItRate(_Frozen):
    """The share of resolutions that say no more than "fixed it", for one group (or overall)."""

    name: str | None = Field(
        default=None, description="The technician or board; null for the unassigned group."
    )
    resolutions: int
    fixed_it: int = Field(description=f"Resolutions flagged {FIXED_IT_FLAG}.")
    rate: float | None = Field(description="fixed_it / resolutions; null when there are none.")


class Reuse(_Frozen):
    """Whether the captured knowledge is being consulted and whether it helps."""

    lookups: int = Field(description="Lookups served over every channel.")
    by_channel: dict[str, int] = Field(description="Lookups per channel (api, mcp, suggest, cli).")
    confident_lookups: int = Field(description="Lookups with at least one confident match.")
    confident_rate: float | None = Field(description="confident_lookups / lookups.")
    feedback: int = Field(description="Feedback verdicts received.")
    helpful: int = Field(description="Verdicts that said the suggested resolution helped.")
    helpful_rate: float | None = Field(description="helpful / feedback.")


class RecurringProblem(_Frozen):
    """A group of resolutions that describe the same problem."""

    category: str
    kind: Literal["error_code", "product", "terms"] = Field(
        description="What the group shares besides its category."
    )
    signature: str = Field(description="The shared error code, product or problem terms.")
    count: int = Field(description="How many resolutions (tickets) are in the group.")
    example_resolution_ids: list[int] = Field(description="The most recent few, newest first.")
    example_title: str = Field(description="The title of the newest resolution in the group.")


class Metrics(_Frozen):
    """Knowledge capture and reuse, as `/v1/metrics` and `fixedit metrics` report it."""

    company: str | None = Field(description="The company every figure is scoped to, if any.")
    generated_at: datetime
    retention: Retention
    fixed_it: FixedItRate = Field(description="The overall \"fixed it\" rate.")
    fixed_it_by_technician: list[FixedItRate] = Field(
        description="Per technician, most resolutions first."
    )
    fixed_it_by_board: list[FixedItRate] = Field(description="Per board, most resolutions first.")
    reuse: Reuse
    recurring_problems: list[RecurringProblem] = Field(
        description=f"Up to {TOP_RECURRING} problems seen on two or more tickets, most first."
    )


def compute_metrics(
    session: Session, *, company: str | None = None, top: int = TOP_RECURRING
) -> Metrics:
    """Compute every metric, scoped to `company` when given."""
    return Metrics(
        company=company,
        generated_at=utcnow(),
        retention=_retention(session, company),
        fixed_it=_fixed_it(session, company, None)[0],
        fixed_it_by_technician=_fixed_it(session, company, "technician"),
        fixed_it_by_board=_fixed_it(session, company, "board"),
        reuse=_reuse(session, company),
        recurring_problems=recurring_problems(session, company=company, top=top),
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _retention(session: Session, company: str | None) -> Retention:
    """Closed tickets against those whose resolution is usable (joined, one query)."""
    query = (
        select(
            func.count(col(TicketRow.id)),
            func.count(col(ResolutionRow.id)),
            func.coalesce(func.sum(case((col(ResolutionRow.usable), 1), else_=0)), 0),
        )
        .select_from(TicketRow)
        .outerjoin(ResolutionRow, col(ResolutionRow.ticket_id) == col(TicketRow.id))
        .where(col(TicketRow.closed_at).is_not(None), col(TicketRow.deleted_at).is_(None))
    )
    if company is not None:
        query = query.where(col(TicketRow.company) == company)
    closed, extracted, usable = session.exec(query).one()
    return Retention(
        closed_tickets=closed, extracted=extracted, usable=int(usable),
        rate=_rate(int(usable), closed),
    )


def _is_fixed_it() -> ColumnElement[bool]:
    """True for resolutions flagged "fixed it". The flag is matched as a quoted JSON string in
    the payload: the same text inside a note would be escaped (\\") and cannot match."""
    return col(ResolutionRow.payload).contains(f'"{FIXED_IT_FLAG}"', autoescape=True)


def _fixed_it(session: Session, company: str | None, by: str | None) -> list[FixedItRate]:
    """The "fixed it" rate overall (`by` None, one row) or grouped by a resolution column."""
    flagged = func.coalesce(func.sum(case((_is_fixed_it(), 1), else_=0)), 0)
    total = func.count(col(ResolutionRow.id))
    if by is None:
        query = select(total, flagged)
    else:
        group = getattr(ResolutionRow, by)
        query = select(group, total, flagged).group_by(group)
    query = query.select_from(ResolutionRow)
    if company is not None:
        query = query.where(col(ResolutionRow.company) == company)
    rows: list[Any] = list(session.exec(query).all())
    if by is None:
        count, fixed = rows[0]
        return [FixedItRate(resolutions=count, fixed_it=int(fixed), rate=_rate(int(fixed), count))]
    result = [
        FixedItRate(name=name, resolutions=count, fixed_it=int(fixed),
                    rate=_rate(int(fixed), count))
        for name, count, fixed in rows
    ]
    return sorted(result, key=lambda item: (-item.resolutions, item.name or ""))


def _reuse(session: Session, company: str | None) -> Reuse:
    """Lookups per channel and confident ones; feedback scoped through the resolution's company."""
    lookups = select(
        col(LookupRow.channel),
        func.count(col(LookupRow.id)),
        func.coalesce(func.sum(case((col(LookupRow.confident), 1), else_=0)), 0),
    ).group_by(col(LookupRow.channel))
    if company is not None:
        lookups = lookups.where(col(LookupRow.company) == company)
    by_channel: dict[str, int] = {}
    confident = 0
    for channel, count, sure in session.exec(lookups).all():
        by_channel[channel] = count
        confident += int(sure)
    served = sum(by_channel.values())
    feedback = select(
        func.count(col(FeedbackRow.id)),
        func.coalesce(func.sum(case((col(FeedbackRow.helpful), 1), else_=0)), 0),
    ).select_from(FeedbackRow)
    if company is not None:
        feedback = feedback.join(
            ResolutionRow, col(ResolutionRow.id) == col(FeedbackRow.resolution_id)
        ).where(col(ResolutionRow.company) == company)
    given, helpful = session.exec(feedback).one()
    return Reuse(
        lookups=served,
        by_channel=dict(sorted(by_channel.items())),
        confident_lookups=confident,
        confident_rate=_rate(confident, served),
        feedback=given,
        helpful=int(helpful),
        helpful_rate=_rate(int(helpful), given),
    )


@dataclass(frozen=True)
class _Item:
    id: int
    category: str
    title: str
    when: datetime
    codes: tuple[str, ...]
    products: tuple[str, ...]
    terms: frozenset[str]


def recurring_problems(
    session: Session, *, company: str | None = None, top: int = TOP_RECURRING
) -> list[RecurringProblem]:
    """The problems seen on two or more tickets, most frequent first.

    Each resolution joins one group, chosen by the most specific thing it shares: an error code
    (within its category), else a product, else its problem terms. Problem terms are the
    `TERMS_PER_SIGNATURE` words of the problem statement (or title) that most other resolutions
    of the same category also use, so "spooler stuck" and "print spooler stuck again" meet.
    """
    items = list(_items(session, company))
    term_df: dict[str, Counter[str]] = defaultdict(Counter)
    code_df: dict[str, Counter[str]] = defaultdict(Counter)
    product_df: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        term_df[item.category].update(item.terms)
        code_df[item.category].update(set(item.codes))
        product_df[item.category].update(set(item.products))
    groups: dict[tuple[str, str, str], list[_Item]] = defaultdict(list)
    for item in items:
        groups[_signature(item, term_df[item.category], code_df[item.category],
                          product_df[item.category])].append(item)
    problems = []
    for (category, kind, signature), members in groups.items():
        if len(members) < 2 or not signature:
            continue
        members.sort(key=lambda member: (member.when, member.id), reverse=True)
        problems.append(RecurringProblem(
            category=category,
            kind=kind,  # type: ignore[arg-type]
            signature=signature,
            count=len(members),
            example_resolution_ids=[member.id for member in members[:EXAMPLES]],
            example_title=members[0].title,
        ))
    problems.sort(key=lambda problem: (-problem.count, problem.category, problem.signature))
    return problems[:top]


def _signature(
    item: _Item, terms: Counter[str], codes: Counter[str], products: Counter[str]
) -> tuple[str, str, str]:
    """The group key of one resolution: the shared code, product or terms it has most company in."""
    shared_codes = [code for code in item.codes if codes[code] >= 2]
    if shared_codes:
        return item.category, "error_code", max(shared_codes, key=lambda c: (codes[c], c))
    shared_products = [product for product in item.products if products[product] >= 2]
    if shared_products:
        return item.category, "product", max(shared_products, key=lambda p: (products[p], p))
    shared = sorted((term for term in item.terms if terms[term] >= 2),
                    key=lambda term: (-terms[term], term))
    return item.category, "terms", " ".join(sorted(shared[:TERMS_PER_SIGNATURE]))


def _items(session: Session, company: str | None) -> list[_Item]:
    """The grouping facts of each resolution, read page by page (payloads can be large)."""
    items: list[_Item] = []
    last_id = 0
    while True:
        query = (
            select(
                col(ResolutionRow.id), col(ResolutionRow.category), col(ResolutionRow.title),
                col(ResolutionRow.problem), col(ResolutionRow.closed_at),
                col(ResolutionRow.updated_at), col(ResolutionRow.payload),
            )
            .where(col(ResolutionRow.id) > last_id)
            .order_by(col(ResolutionRow.id))
            .limit(_PAGE)
        )
        if company is not None:
            query = query.where(col(ResolutionRow.company) == company)
        page = session.exec(query).all()
        if not page:
            return items
        for row_id, category, title, problem, closed_at, updated_at, payload in page:
            data = json.loads(payload)
            items.append(_Item(
                id=row_id,
                category=category,
                title=title,
                when=closed_at or updated_at,
                codes=tuple(_norm(entry["text"]).upper() for entry in data.get("error_codes", [])
                            if _norm(entry["text"])),
                products=tuple(_norm(entry["text"]) for entry in data.get("products", [])
                               if _norm(entry["text"])),
                terms=problem_terms(problem or title),
            ))
        last_id = page[-1][0]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def problem_terms(text: str) -> frozenset[str]:
    """The content words of a problem statement: lower-cased, no stopwords, numbers or 1-2
    letter fragments (ticket numbers and initials would split groups that belong together)."""
    return frozenset(
        word for word in _WORD.findall(text.lower())
        if len(word) > 2 and not word.isdigit() and word not in _STOPWORDS
    )
