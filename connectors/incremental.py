"""Incremental windows: how an API connector turns a stored cursor into bounded, resumable queries.

Every sync walks time windows `[start, end)` from the cursor up to (run start - safety lag), each
at most `backfill_slice` wide. Inside a window, records are read in ascending id order, paging by
`id > last id`. So the cursor has two parts:

    Cursor(value=<window start ISO>, slice=<last id stored>)   part-way through a window
    Cursor(value=<window end ISO>,   slice=None)               a window finished

Resuming part-way re-enters the same window after the last stored id, so a killed five-year
backfill resumes where it stopped. Starting after a finished window steps back by `lookback`, so
records stamped late, or at exactly the boundary, are read again (upserts make that free). A
record updated while a run is under way is stamped after the run's end bound, so the next run
reads it. Windows are half-open: a record stamped exactly at `end` belongs to the next window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from records import Cursor


def to_iso(moment: datetime) -> str:
    """UTC ISO 8601 with a Z, to the second; the form cursors are stored in."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str) -> datetime:
    """Parse a cursor timestamp written by `to_iso` (or any ISO 8601 with a zone)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """Records stamped in `[start, end)` with an id greater than `after_id` (None: from the top)."""

    start: datetime
    end: datetime
    after_id: int | None = None

    def cursor_after(self, last_id: int) -> Cursor:
        """The cursor to store once every record up to `last_id` in this window is stored."""
        return Cursor(value=to_iso(self.start), slice=str(last_id))

    def cursor_done(self) -> Cursor:
        """The cursor to store once the whole window is stored."""
        return Cursor(value=to_iso(self.end), slice=None)


def plan_windows(
    since: Cursor | None,
    *,
    now: datetime,
    first_start: datetime,
    lookback: timedelta,
    safety_lag: timedelta,
    slice_size: timedelta,
) -> Iterator[Window]:
    """The windows one sync run reads, oldest first, ending at `now - safety_lag`."""
    end_bound = now - safety_lag
    after_id: int | None = None
    if since is None:
        start = first_start
    elif since.slice:
        start, after_id = from_iso(since.value), int(since.slice)
    else:
        start = from_iso(since.value) - lookback
    start = min(start, end_bound)
    while True:
        end = min(start + slice_size, end_bound)
        yield Window(start=start, end=end, after_id=after_id)
        if end >= end_bound:
            return
        start, after_id = end, None
