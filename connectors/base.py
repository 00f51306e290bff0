"""What every connector is: a named source that can check its credentials and pull batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Protocol, runtime_checkable

from records import Batch, Cursor


@runtime_checkable
class Connector(Protocol):
    """A source of tickets or deals.

    `pull` yields batches in order; each batch carries the cursor that is safe to store once the
    batch's items are stored. The pipeline, not the connector, owns the cursor: it passes the last
    stored one back as `since` (already moved back by the source's lookback overlap).
    """

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]

    def check(self) -> None:
        """Make one cheap call that proves the credentials work; raise AuthError if not."""
        ...

    def pull(self, kind: str, *, since: Cursor | None) -> Iterator[Batch]:
        """Yield batches of items of `kind` changed since `since` (all of them when None)."""
        ...


@runtime_checkable
class ApiConnector(Connector, Protocol):
    """A connector for a vendor API: it can also list every live id and write notes back."""

    def reconcile(self, kind: str) -> Iterator[str]:
        """Every external id of `kind` that exists at the source now (for finding deletions)."""
        ...

    def post_internal_note(self, ticket_id: str, text: str) -> str:
        """Add an internal note to a ticket; return the new note's id.

        Raises ConfigError unless the source's `writeback.enabled` is true; in dry-run mode it
        only logs what it would post and returns "dry-run".
        """
        ...
