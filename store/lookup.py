"""Lookup of prior resolutions: the interface the API, MCP server, suggestion job and CLI share.

`SearchIndex` is built from the store and kept current with `refresh()`; `search()` ranks stored
resolutions for a new ticket's text with the in-memory BM25F index of `store.index`:

* **relevance**: BM25F over title, problem, symptoms, cause, steps, the entity text
  (products, error codes, KB references) and, weighted low, the ticket's own words
  (`ResolutionRow.context_text`: description and notes, redacted, cleaned, capped), with field
  weights. The query is cleaned first as the extractor cleans tickets (markup, quoted replies,
  signatures, disclaimers); its subject line counts double and an "our environment" paragraph
  little (`store.index.query_parts`); query words that are not in the
  vocabulary match terms one or two edits away ("outlok" → outlook), and code-like words match
  longer codes they begin ("0x8007" → 0x80070005); a shared exact error code, KB number or
  product adds a boost.
* **prior** (multiplies relevance): the outcome (resolved 1.0, workaround 0.85, …); whether the
  fix stuck: a resolution whose ticket was **reopened** after the resolution's ``closed_at``
  (the ticket row is no longer in a closed status, has no close date, or was closed again later)
  counts 0.6; and **feedback**: ``0.7 + 0.6 * (helpful + 1) / (votes + 2)``, 1.0 with no votes.
* **confident** (`Match.confident`): the matched query words carry at least
  `CONFIDENT_COVERAGE` of the query's information (sum of the words' idf), and at least two
  words matched when the query has two or more; or the match shares an exact error code or KB
  number with the query and covers at least `CONFIDENT_CODE_COVERAGE`.

Incremental refresh: resolutions whose ``updated_at`` passed the watermark (less
`REFRESH_OVERLAP`, for transactions that committed late) are re-read, new feedback rows (by id)
update priors, and a count and id-sum check finds deletions without reading every id.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from records import Resolution, StoreError
from store import index as ix
from store.db import session_scope
from store.tables import FeedbackRow, ResolutionRow, TicketRow

log = logging.getLogger(__name__)

WORKED = ("resolved", "workaround")
"""Outcomes of fixes that worked: what a lookup returns unless asked for every outcome."""
CONFIDENT_COVERAGE = 0.6
CONFIDENT_CODE_COVERAGE = 0.3
REFRESH_OVERLAP = timedelta(minutes=2)
MAX_LIMIT = 1_000
_PAGE = 2_000
_TOP_SAMPLE = 64  # sampled values per result wanted when narrowing to the top (see `_top`)
_REOPEN_SLACK = 60  # seconds between the resolution's and the ticket's close still "the same"


@dataclass(frozen=True)
class LookupFilters:
    """What a lookup may return. `company` also scopes an API key limited to one company."""

    company: str | None = None
    category: str | None = None
    product: str | None = None
    source: str | None = None
    outcomes: tuple[str, ...] | None = WORKED
    closed_after: datetime | None = None
    closed_before: datetime | None = None
    usable_only: bool = True


@dataclass(frozen=True)
class Match:
    """One ranked prior resolution.

    `score` is relevance × prior (higher is better; comparable within one query only);
    `matched` lists the query words (as analyzed: lower-cased, light-stemmed) and exact entities
    the resolution matched.
    """

    resolution_id: int
    resolution: Resolution
    score: float
    confident: bool
    matched: tuple[str, ...] = ()
    coverage: float = 0.0


@dataclass(frozen=True)
class Hit:
    """One ranked prior resolution as stored: its JSON payload, not yet read into a model.

    For a caller that passes the record on as JSON (the API): validating ten payloads into
    `Resolution` models costs more than ranking them. `match()` reads it into a `Match`.
    """

    resolution_id: int
    payload: str
    score: float
    confident: bool
    matched: tuple[str, ...] = ()
    coverage: float = 0.0

    def match(self) -> Match:
        """This hit with its resolution read from the payload."""
        return Match(resolution_id=self.resolution_id,
                     resolution=Resolution.model_validate_json(self.payload), score=self.score,
                     confident=self.confident, matched=self.matched, coverage=self.coverage)


class SearchIndex:
    """Ranks stored resolutions for a query. Thread-safe for concurrent `search` calls.

    The index is built on first use (or by `rebuild()`); `refresh()` takes in what changed.
    Searches read an immutable snapshot, so a refresh never blocks them.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        # One attribute, swapped whole, so a search never pairs a vocabulary with a snapshot
        # of another build.
        self._state: tuple[ix.Analyzer, ix.Snapshot] | None = None
        self._slot_of: dict[int, int] = {}
        self._id_sum = 0
        self._watermark: datetime | None = None
        self._feedback_mark = 0

    # --- keeping current --------------------------------------------------------------------

    def rebuild(self) -> int:
        """Rebuild from scratch; returns the number of resolutions indexed."""
        with self._lock:
            return self._rebuild()

    def refresh(self) -> int:
        """Take in resolutions added, changed or removed since the last refresh; the count.

        Also counts resolutions whose prior changed through new feedback.
        """
        with self._lock:
            if self._state is None:
                return self._rebuild()
            return self._refresh(*self._state)

    @property
    def size(self) -> int:
        """Resolutions currently indexed (0 before the first build)."""
        return 0 if self._state is None else self._state[1].live

    def _rebuild(self) -> int:
        analyzer = ix.Analyzer()
        with session_scope(self._engine) as session:
            feedback, feedback_mark = _feedback_counts(session, None)
            mark = session.exec(select(func.max(col(ResolutionRow.updated_at)))).one()
            snapshot = ix.build(analyzer, _load_docs(session, feedback=feedback))
        self._slot_of = {int(rid): slot
                         for slot, rid in enumerate(snapshot.columns.resolution_id.tolist())}
        self._id_sum = sum(self._slot_of)
        self._watermark = mark
        self._feedback_mark = feedback_mark
        self._state = (analyzer, snapshot)
        ix.query_parts("warm up")  # loads the query cleaning now, not in the first lookup
        log.debug("lookup index built: %d resolutions, %d terms", snapshot.live,
                 len(analyzer.vocab))
        return snapshot.live

    def _refresh(self, analyzer: ix.Analyzer, snapshot: ix.Snapshot) -> int:
        columns = snapshot.columns
        with session_scope(self._engine) as session:
            stmt = select(ResolutionRow.id, ResolutionRow.updated_at)
            if self._watermark is not None:
                stmt = stmt.where(col(ResolutionRow.updated_at) > self._watermark - REFRESH_OVERLAP)
            changed: list[int] = []
            mark = self._watermark
            for row_id, updated_at in session.exec(stmt):
                assert row_id is not None
                mark = updated_at if mark is None or updated_at > mark else mark
                slot = self._slot_of.get(row_id)
                if slot is None or columns.updated_at[slot] != updated_at.timestamp():
                    changed.append(row_id)
            feedback, feedback_mark = _feedback_counts(session, self._feedback_mark)
            upserts: list[ix.DocInput] = []
            for start in range(0, len(changed), _PAGE):
                upserts.extend(_load_docs(session, ids=changed[start:start + _PAGE],
                                          feedback=None))
            _attach_feedback(session, upserts)
            total, id_sum = session.exec(
                select(func.count(), func.coalesce(func.sum(col(ResolutionRow.id)), 0))
            ).one()
            expected_live = snapshot.live + sum(d.resolution_id not in self._slot_of
                                                for d in upserts)
            expected_sum = self._id_sum + sum(d.resolution_id for d in upserts
                                              if d.resolution_id not in self._slot_of)
            removed: list[int] = []
            if (int(total), int(id_sum)) != (expected_live, expected_sum):
                # Something was deleted, or committed too late for the watermark: compare ids.
                present = {i for i in session.exec(select(ResolutionRow.id)) if i is not None}
                upserted = {d.resolution_id for d in upserts}
                removed = [i for i in self._slot_of if i not in present and i not in upserted]
                late = sorted(present - upserted - self._slot_of.keys())
                for start in range(0, len(late), _PAGE):
                    upserts.extend(_load_docs(session, ids=late[start:start + _PAGE],
                                              feedback=None))
                _attach_feedback(session, upserts)
        loaded = {d.resolution_id for d in upserts}
        priors = {rid: _prior_for(analyzer, snapshot, self._slot_of[rid], votes)
                  for rid, votes in feedback.items()
                  if rid in self._slot_of and rid not in loaded}
        if not (upserts or removed or priors):
            self._watermark, self._feedback_mark = mark, feedback_mark
            return 0
        before = set(self._slot_of)
        new = ix.apply(analyzer, snapshot, upserts, removed, self._slot_of, priors)
        self._id_sum += sum(i for i in self._slot_of if i not in before)
        self._id_sum -= sum(i for i in before if i not in self._slot_of)
        self._state = (analyzer, new)
        self._watermark, self._feedback_mark = mark, feedback_mark
        return len(upserts) + len(removed) + len(priors)

    # --- searching --------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        filters: LookupFilters = LookupFilters(),
        limit: int = 10,
        offset: int = 0,
    ) -> list[Match]:
        """The best `limit` matches after `offset`, best first; [] for a blank query."""
        return [hit.match() for hit in self.hits(query, filters=filters, limit=limit,
                                                 offset=offset)]

    def hits(
        self,
        query: str,
        *,
        filters: LookupFilters = LookupFilters(),
        limit: int = 10,
        offset: int = 0,
    ) -> list[Hit]:
        """`search`, with each resolution left as its stored JSON."""
        if limit < 0 or offset < 0 or limit > MAX_LIMIT:
            raise ValueError(f"limit must be 0..{MAX_LIMIT} and offset >= 0")
        if self._state is None:
            self.refresh()
        assert self._state is not None
        analyzer, snapshot = self._state
        if limit == 0 or not query.strip() or snapshot.live == 0:
            return []
        plan = ix.plan_query(analyzer, snapshot, query)
        if not plan.terms:
            return []
        slots, relevance = ix.score(snapshot, plan, _mask(analyzer, snapshot, filters))
        if not len(slots):
            return []
        ranked = relevance * snapshot.columns.prior[slots]
        wanted = offset + limit
        if len(slots) > wanted:
            top = _top(ranked, wanted)
            slots, ranked = slots[top], ranked[top]
        ids = snapshot.columns.resolution_id[slots]
        order = np.lexsort((-ids, -ranked))[offset:offset + limit]  # a tie: newer row first
        page = [(int(slots[i]), float(ranked[i])) for i in order]
        payloads = self._payloads([int(snapshot.columns.resolution_id[s]) for s, _ in page])
        explained = _explain(snapshot, plan, np.array([s for s, _ in page], np.int32))
        hits: list[Hit] = []
        for (slot, value), (matched, coverage, code_match) in zip(page, explained, strict=True):
            resolution_id = int(snapshot.columns.resolution_id[slot])
            payload = payloads.get(resolution_id)
            if payload is None:  # removed since the last refresh
                continue
            confident = (coverage >= CONFIDENT_COVERAGE
                         and (len(plan.word_idf) < 2 or _words(plan, matched) >= 2)) or \
                (code_match and coverage >= CONFIDENT_CODE_COVERAGE)
            hits.append(Hit(resolution_id=resolution_id, payload=payload, score=round(value, 6),
                            confident=confident, matched=matched,
                            coverage=round(coverage, 4)))
        return hits

    def _payloads(self, ids: Sequence[int]) -> dict[int, str]:
        """The stored JSON of the page's resolutions: one Core round trip, no ORM session."""
        if not ids:
            return {}
        with self._engine.connect() as connection:
            rows = connection.execute(_PAYLOADS, {"ids": list(ids)}).all()
        return {int(row_id): payload for row_id, payload in rows}


_RESOLUTIONS: sa.Table = ResolutionRow.__table__  # type: ignore[attr-defined]
_PAYLOADS = sa.select(_RESOLUTIONS.c.id, _RESOLUTIONS.c.payload).where(
    _RESOLUTIONS.c.id.in_(sa.bindparam("ids", expanding=True)))


# --- helpers ----------------------------------------------------------------------------------

def _words(plan: ix.QueryPlan, matched: tuple[str, ...]) -> int:
    return sum(word in plan.word_idf for word in matched)


def _top(ranked: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` largest of `ranked` and of every value tied with the k-th (the
    caller orders ties), in no particular order.

    Why not one `np.argpartition`: at 100,000 docs a query matches tens of thousands, and
    selecting among all of them costs more than the rest of the ranking. The k-th largest of a
    strided sample is never above the k-th largest of the whole, so the values at or above it
    are a few hundred candidates holding the top k, found by one comparison.
    """
    step = len(ranked) // (_TOP_SAMPLE * k)
    candidates = np.arange(len(ranked))
    if step >= 2:
        sample = ranked[::step]
        floor = np.partition(sample, len(sample) - k)[len(sample) - k]
        candidates = np.flatnonzero(ranked >= floor)
    if len(candidates) > k:
        values = ranked[candidates]
        kth = np.partition(values, len(values) - k)[len(values) - k]
        candidates = candidates[values >= kth]
    return candidates


def _explain(snapshot: ix.Snapshot, plan: ix.QueryPlan,
             slots: np.ndarray) -> list[tuple[tuple[str, ...], float, bool]]:
    """Per doc slot: the query words and entities it matched, their share of the query's idf,
    and whether it shares an exact error code or KB number with the query."""
    matched: list[list[str]] = [[] for _ in range(len(slots))]
    code_match = [False] * len(slots)
    for term in plan.terms:
        hits = np.flatnonzero(snapshot.contains(term.term_id, slots))
        for i in hits.tolist():
            if term.word not in matched[i]:
                matched[i].append(term.word)
            if term.entity and term.word in plan.word_idf:
                code_match[i] = True
    total = sum(plan.word_idf.values())
    explained: list[tuple[tuple[str, ...], float, bool]] = []
    for words, code in zip(matched, code_match, strict=True):
        covered = sum(plan.word_idf[w] for w in words if w in plan.word_idf)
        explained.append((tuple(words), covered / total if total else 0.0, code))
    return explained


def _mask(analyzer: ix.Analyzer, snapshot: ix.Snapshot, filters: LookupFilters) -> np.ndarray:
    """Which doc slots `filters` allow (cached per snapshot and filter set)."""
    cached = snapshot.masks.get(_key(filters))
    if cached is not None:
        return cached
    columns = snapshot.columns
    base_key = ("base", filters.outcomes, filters.usable_only)
    mask = snapshot.masks.get(base_key)
    if mask is None:
        mask = columns.alive.copy()
        if filters.usable_only:
            mask &= columns.usable
        if filters.outcomes is not None:
            wanted = np.zeros(len(analyzer.outcome.ids) + 1, np.bool_)
            for outcome in filters.outcomes:
                code = analyzer.outcome.lookup(outcome)
                if code is not None:
                    wanted[code] = True
            mask &= wanted[columns.outcome]
        snapshot.masks[base_key] = mask
    mask = mask.copy()
    for value, codes, column in (
        (filters.company, analyzer.company, columns.company),
        (filters.category, analyzer.category, columns.category),
        (filters.source, analyzer.source, columns.source),
    ):
        if value is not None:
            code = codes.lookup(value)
            mask &= (column == code) if code is not None else False
    if filters.closed_after is not None or filters.closed_before is not None:
        has_date = columns.closed_at != np.iinfo(np.int64).min
        mask &= has_date
        if filters.closed_after is not None:
            mask &= columns.closed_at >= _epoch(filters.closed_after)
        if filters.closed_before is not None:
            mask &= columns.closed_at < _epoch(filters.closed_before)
    if filters.product is not None:
        mask &= _product_mask(analyzer, snapshot, filters.product)
    if len(snapshot.masks) >= 64:
        snapshot.masks.clear()
    snapshot.masks[_key(filters)] = mask
    return mask


def _product_mask(analyzer: ix.Analyzer, snapshot: ix.Snapshot, product: str) -> np.ndarray:
    """Docs naming `product`, by canonical name or any alias ("o365" finds Microsoft 365)."""
    terms = ix.analyze(product)
    names = ix.find_products(terms) or [product]
    mask = np.zeros(snapshot.slots, np.bool_)
    for name in [*names, product]:
        term_id = analyzer.vocab.ids.get(ix.product_key(name))
        if term_id is None:
            continue
        for segment in (snapshot.main, snapshot.delta):
            start, end = segment.span(term_id)
            mask[segment.docs[start:end]] = True
    return mask


def _key(filters: LookupFilters) -> tuple[object, ...]:
    return (filters.company, filters.category, filters.product, filters.source,
            filters.outcomes, filters.closed_after, filters.closed_before, filters.usable_only)


def _epoch(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("closed_after/closed_before must be timezone-aware")
    return math.floor(value.timestamp())


def _prior_for(analyzer: ix.Analyzer, snapshot: ix.Snapshot, slot: int,
               votes: tuple[int, int]) -> float:
    """A doc's prior with new feedback counts, keeping its outcome and reopened state."""
    columns = snapshot.columns
    outcome = {code: name for name, code in analyzer.outcome.ids.items()}
    return ix.prior(outcome.get(int(columns.outcome[slot]), "unknown"),
                    bool(columns.reopened[slot]), *votes)


def _feedback_counts(session: Session,
                     after_id: int | None) -> tuple[dict[int, tuple[int, int]], int]:
    """(helpful, votes) per resolution — all of them, or only those with feedback rows newer
    than `after_id` — and the highest feedback id seen."""
    mark = session.exec(select(func.max(col(FeedbackRow.id)))).one() or 0
    if after_id is not None and mark <= after_id:
        return {}, after_id
    helpful = func.sum(sa.case((col(FeedbackRow.helpful).is_(True), 1), else_=0))
    stmt = select(FeedbackRow.resolution_id, helpful, func.count()).group_by(
        col(FeedbackRow.resolution_id))
    if after_id is not None:
        touched = select(FeedbackRow.resolution_id).where(col(FeedbackRow.id) > after_id)
        stmt = stmt.where(col(FeedbackRow.resolution_id).in_(touched))
    counts = {int(rid): (int(h or 0), int(n)) for rid, h, n in session.exec(stmt)}
    return counts, int(mark)


def _attach_feedback(session: Session, docs: list[ix.DocInput]) -> None:
    """Fill in the feedback counts of freshly loaded docs (in place)."""
    if not docs:
        return
    helpful = func.sum(sa.case((col(FeedbackRow.helpful).is_(True), 1), else_=0))
    counts: dict[int, tuple[int, int]] = {}
    ids = [d.resolution_id for d in docs]
    for start in range(0, len(ids), _PAGE):
        stmt = (select(FeedbackRow.resolution_id, helpful, func.count())
                .where(col(FeedbackRow.resolution_id).in_(ids[start:start + _PAGE]))
                .group_by(col(FeedbackRow.resolution_id)))
        counts.update({int(rid): (int(h or 0), int(n)) for rid, h, n in session.exec(stmt)})
    for i, doc in enumerate(docs):
        if doc.resolution_id in counts:
            h, n = counts[doc.resolution_id]
            docs[i] = doc._replace(helpful=h, votes=n)


def _load_docs(session: Session, *, ids: Sequence[int] | None = None,
               feedback: dict[int, tuple[int, int]] | None) -> Iterator[ix.DocInput]:
    """Stored resolutions (all, or those in `ids`) as index inputs, a page at a time."""
    from extract.outcome import is_closed_status  # the extractor's reading of PSA statuses

    last_id = 0
    while True:
        stmt = (
            select(ResolutionRow.id, ResolutionRow.source, ResolutionRow.category,
                   ResolutionRow.outcome, ResolutionRow.usable, ResolutionRow.company,
                   ResolutionRow.closed_at, ResolutionRow.updated_at, ResolutionRow.payload,
                   TicketRow.status, TicketRow.closed_at, ResolutionRow.context_text)
            .join(TicketRow, col(TicketRow.id) == col(ResolutionRow.ticket_id))
            .where(col(ResolutionRow.id) > last_id)
            .order_by(col(ResolutionRow.id))
            .limit(_PAGE)
        )
        if ids is not None:
            stmt = stmt.where(col(ResolutionRow.id).in_(ids))
        page = session.connection().execute(stmt).all()  # Core rows: no ORM bookkeeping
        for row in page:
            yield _doc(row, feedback or {}, is_closed_status)
        if len(page) < _PAGE:
            return
        last_id = page[-1][0]


def _doc(row: Any, feedback: dict[int, tuple[int, int]], is_closed: Any) -> ix.DocInput:
    (row_id, source, category, outcome, usable, company, closed_at, updated_at, payload,
     ticket_status, ticket_closed, context) = row
    try:
        data = json.loads(payload)
    except ValueError as exc:
        raise StoreError(f"resolution row {row_id} holds an unreadable payload") from exc
    reopened = closed_at is not None and (
        ticket_closed is None
        or (ticket_closed - closed_at).total_seconds() > _REOPEN_SLACK
        or not is_closed(ticket_status)
    )
    helpful, votes = feedback.get(row_id, (0, 0))
    return ix.DocInput(
        resolution_id=row_id,
        title=_text(data.get("title")),
        problem=_text(data.get("problem")),
        symptoms=_texts(data.get("symptoms")),
        cause=_text(data.get("cause")),
        steps=_texts(data.get("steps")),
        products=_texts(data.get("products")),
        codes=[*_texts(data.get("error_codes")), *_texts(data.get("kb_refs"))],
        company=company, category=category, source=source, outcome=outcome, usable=usable,
        closed_at=None if closed_at is None else math.floor(closed_at.timestamp()),
        reopened=reopened, helpful=helpful, votes=votes, updated_at=updated_at.timestamp(),
        context=context or "",
    )


def _text(item: Any) -> str:
    return item.get("text", "") if isinstance(item, dict) else ""


def _texts(items: Any) -> list[str]:
    return [_text(item) for item in items] if isinstance(items, list) else []
