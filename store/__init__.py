"""fixedit's store: database setup, migrations and keyword-only repository functions.

Callers get `records.*` objects or the small frozen dataclasses defined here, never table rows.
Repository functions take a `Session` first, may flush, and never commit: wrap them in
`session_scope(engine)`.
"""

from store.db import (
    check_connection,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    session_scope,
)
from store.items import (
    PendingTicket,
    UpsertResult,
    get_deal,
    get_ticket,
    live_external_ids,
    mark_deleted,
    pending_extraction,
    upsert_deal,
    upsert_ticket,
)
from store.lookup import LookupFilters, Match, SearchIndex
from store.report import CursorStatus, SourceStatus, StatusReport, count_rows, status_report
from store.resolutions import (
    get_resolution,
    iter_resolutions,
    mark_extraction_failed,
    save_resolution,
)
from store.runs import (
    QuarantinedItem,
    RunStatus,
    finish_run,
    get_run,
    list_quarantine,
    recent_runs,
    record_reject,
    start_run,
)
from store.search import SearchHit, search_resolutions, tokenize
from store.sync_state import ensure_source, get_cursor, set_cursor

__all__ = [
    "CursorStatus",
    "LookupFilters",
    "Match",
    "PendingTicket",
    "QuarantinedItem",
    "RunStatus",
    "SearchHit",
    "SearchIndex",
    "SourceStatus",
    "StatusReport",
    "UpsertResult",
    "check_connection",
    "count_rows",
    "current_revision",
    "ensure_source",
    "finish_run",
    "get_cursor",
    "get_deal",
    "get_resolution",
    "get_run",
    "get_ticket",
    "head_revision",
    "iter_resolutions",
    "list_quarantine",
    "live_external_ids",
    "make_engine",
    "mark_deleted",
    "mark_extraction_failed",
    "migrate",
    "pending_extraction",
    "recent_runs",
    "record_reject",
    "save_resolution",
    "search_resolutions",
    "session_scope",
    "set_cursor",
    "start_run",
    "status_report",
    "tokenize",
    "upsert_deal",
    "upsert_ticket",
]
