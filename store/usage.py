"""The usage log: which lookups were served and what people said about the answers.

Reuse metrics (`store.metrics`) are computed from these rows. A lookup keeps only its outcome
(how many matches, the best score, whether any was confident), never the query text: queries
are new tickets' text and may carry customer data the redactor did not catch.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session

from records import StoreError
from store.lookup import Hit, Match
from store.tables import FeedbackRow, LookupRow, ResolutionRow, nul_free, utcnow

_LOOKUPS: sa.Table = LookupRow.__table__  # type: ignore[attr-defined]
_RESOLUTIONS: sa.Table = ResolutionRow.__table__  # type: ignore[attr-defined]
_INSERT_LOOKUP = _LOOKUPS.insert().values(
    # The index may be a refresh behind a deletion: the lookup is kept, a dangling top id
    # becomes NULL (no row matches the subquery).
    top_resolution_id=sa.select(_RESOLUTIONS.c.id).where(
        _RESOLUTIONS.c.id == sa.bindparam("top_id", type_=_RESOLUTIONS.c.id.type)
    ).scalar_subquery(),
).returning(_LOOKUPS.c.id)
"""One Core INSERT … RETURNING, built once (its SQL is compiled once): the ORM's unit of work
and a statement built per call cost more than the rest of a lookup's bookkeeping."""

CHANNELS = ("api", "mcp", "suggest", "cli")
"""Where a lookup can come from."""

MAX_COMMENT = 2000
"""Feedback comments are cut to this many characters: a verdict, not an essay store."""


def record_lookup(
    session: Session | sa.Connection,
    *,
    channel: str,
    matches: Sequence[Match | Hit],
    key_id: int | None = None,
    company: str | None = None,
) -> int:
    """Log one served lookup and return its id (for feedback to refer to).

    `matches` are the ranked results as returned, best first; only their count, the best one's
    score and id, and whether any was confident are kept. `session` may be a bare connection in
    a transaction: the row is one Core INSERT, and a caller with nothing else to do in the
    store (the API's lookup) is spared the ORM session's setup and commit.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown lookup channel {channel!r}; expected one of {CHANNELS}")
    top = matches[0] if matches else None
    top_id = top.resolution_id if top is not None and top.resolution_id > 0 else None
    row = {"channel": channel, "key_id": key_id, "company": nul_free(company),
           "matches": len(matches), "top_score": float(top.score) if top is not None else None,
           "top_id": top_id, "confident": any(match.confident for match in matches),
           "created_at": utcnow()}
    connection = session if isinstance(session, sa.Connection) else session.connection()
    return int(connection.execute(_INSERT_LOOKUP, row).scalar_one())


def record_feedback(
    session: Session,
    *,
    resolution_id: int,
    helpful: bool,
    lookup_id: int | None = None,
    key_id: int | None = None,
    comment: str | None = None,
) -> int:
    """Log whether a suggested resolution helped and return the feedback id.

    Raises `StoreError` when the resolution or the lookup it refers to does not exist, so a
    caller (the API) can answer 404 instead of tripping a foreign key on commit.
    """
    if session.get(ResolutionRow, resolution_id) is None:
        raise StoreError(f"resolution {resolution_id} does not exist")
    if lookup_id is not None and session.get(LookupRow, lookup_id) is None:
        raise StoreError(f"lookup {lookup_id} does not exist")
    text = nul_free(comment.strip()) if comment is not None else None
    row = FeedbackRow(
        resolution_id=resolution_id,
        lookup_id=lookup_id,
        key_id=key_id,
        helpful=helpful,
        comment=(text[:MAX_COMMENT] or None) if text is not None else None,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id
