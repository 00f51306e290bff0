"""What a connector hands the pipeline: batches of records, rejects, and the cursor after them."""

from __future__ import annotations

from pydantic import Field

from records.base import Record
from records.deal import Deal
from records.ticket import Ticket


class Cursor(Record):
    """An opaque position in one source's stream; usually an ISO timestamp or a last id.

    `value` is what the connector needs to resume; `slice` is an optional inner checkpoint
    (e.g. the last id inside a backfill window) so a killed backfill resumes mid-window.
    """

    value: str
    slice: str | None = None


class Reject(Record):
    """A payload that failed validation: kept with its reason, never silently dropped."""

    external_id: str | None = None
    reason: str
    payload: str = Field(default="", description="The raw payload as text.")


class Batch(Record):
    """One page (or file chunk) of items and the cursor that is safe to store once they are."""

    kind: str
    items: list[Ticket | Deal] = Field(default_factory=list)
    rejects: list[Reject] = Field(default_factory=list)
    cursor: Cursor | None = None
