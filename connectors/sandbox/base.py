"""What every vendor emulation provides, and the fault rules the sandbox server applies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Literal, Protocol

from starlette.routing import BaseRoute

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
"""The repository's fixtures folder: vendor payloads live in `FIXTURES / <vendor>`."""


def utcnow() -> datetime:
    """The sandbox clock (a function so tests can see what "now" was)."""
    return datetime.now(UTC)


class Emulation(Protocol):
    """One vendor's API, emulated in memory from its fixture files.

    The emulation is mounted under `prefix` on the sandbox server; `routes()` are relative to it.
    All state is in memory: `mutate`, `add_note` and `delete` change what later requests see, the
    way a technician working in the PSA during a sync would.
    """

    vendor: ClassVar[str]
    """"connectwise" | "autotask" | "halopsa": also the `kind` of the matching source."""
    prefix: ClassVar[str]
    """Mount path on the sandbox server, e.g. "/connectwise"."""

    def __init__(self, fixtures: Path, *, scale: int = 1) -> None:
        """Load `fixtures/<vendor>/`; `scale` > 1 adds synthetic copies with fresh ids."""
        ...

    def routes(self) -> Sequence[BaseRoute]:
        """The vendor's endpoints, relative to `prefix`."""
        ...

    def source_config(self, base_url: str) -> dict[str, object]:
        """A `[[sources]]` table (as a dict, without name) that syncs from this emulation."""
        ...

    def secrets(self) -> dict[str, str]:
        """Secret settings the source needs, by field name (the sandbox's fake credentials)."""
        ...

    def expected(self) -> dict[str, frozenset[str]]:
        """Live tickets as a connector must store them: external id -> note external ids."""
        ...

    def ticket_ids(self) -> list[str]:
        """External ids of the live (not deleted) tickets."""
        ...

    def mutate(self, ticket_id: str) -> None:
        """Edit a ticket's text and stamp it (and what the vendor stamps with it) as updated now."""
        ...

    def add_note(self, ticket_id: str, text: str) -> str:
        """Add a technician note (or action) to a ticket now; return its connector-side id."""
        ...

    def delete(self, ticket_id: str) -> None:
        """Delete a ticket the way the vendor does (it disappears from every listing)."""
        ...


@dataclass
class FaultRule:
    """One way for the sandbox to misbehave, on requests whose path contains `path`.

    The rule skips the first `after` matching requests, then fires on every `every`-th one, at
    most `times` times (0 = no limit).
    """

    kind: Literal["status", "slow", "mutate"]
    path: str = ""
    vendor: str | None = None
    after: int = 0
    every: int = 1
    times: int = 1
    status: int = 429
    retry_after: str | None = "1"
    delay_ms: int = 0
    ticket_id: str | None = None
    seen: int = 0
    fired: int = 0

    def matches(self, vendor: str, path: str) -> bool:
        """Whether a request to `vendor` at `path` is one this rule looks at."""
        return (self.vendor in (None, vendor)) and self.path in path

    def should_fire(self) -> bool:
        """Count one matching request and say whether the fault applies to it."""
        self.seen += 1
        if self.times and self.fired >= self.times:
            return False
        index = self.seen - self.after
        if index <= 0 or index % max(self.every, 1):
            return False
        self.fired += 1
        return True


FaultKind = Literal["status", "slow", "mutate"]
VENDORS: tuple[str, ...] = ("connectwise", "autotask", "halopsa")
