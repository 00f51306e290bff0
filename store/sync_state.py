"""Configured sources and the cursor each (source, kind) has reached."""

from __future__ import annotations

import logging

from sqlmodel import Session

from records import ConfigError, Cursor
from store.tables import SourceRow, SyncStateRow, utcnow

log = logging.getLogger(__name__)


def ensure_source(session: Session, *, name: str, kind: str) -> None:
    """Register a source by its config name; a name may not change its connector kind."""
    row = session.get(SourceRow, name)
    if row is None:
        session.add(SourceRow(name=name, kind=kind, created_at=utcnow()))
        session.flush()
        log.debug("registered source %s (%s)", name, kind)
        return
    if row.kind != kind:
        # Its stored items and cursors came from a different system: mixing them would be wrong.
        raise ConfigError(
            "sources",
            f"source {name!r} was a {row.kind!r} source and is now configured as {kind!r}; "
            "give the new source another name",
        )


def get_cursor(session: Session, *, source: str, kind: str) -> Cursor | None:
    """The stored cursor of a source and kind, or None before the first sync."""
    row = session.get(SyncStateRow, (source, kind))
    if row is None:
        return None
    return Cursor(value=row.cursor_value, slice=row.cursor_slice)


def set_cursor(session: Session, *, source: str, kind: str, cursor: Cursor) -> None:
    """Store the cursor; it becomes durable only with the transaction of the rows it covers."""
    row = session.get(SyncStateRow, (source, kind))
    if row is None:
        row = SyncStateRow(source=source, kind=kind, cursor_value=cursor.value,
                           cursor_slice=cursor.slice, updated_at=utcnow())
    else:
        row.cursor_value = cursor.value
        row.cursor_slice = cursor.slice
        row.updated_at = utcnow()
    session.add(row)
    session.flush()
