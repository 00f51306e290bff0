"""The sandbox's fault plan: which requests misbehave, and how.

A `FaultPlan` holds `FaultRule`s (see `connectors.sandbox.base`). For every vendor request the
server asks the plan which rules fire; each fired rule is then applied:

    status   answer with `rule.status` at once, without calling the emulation
             (a 429 carries `Retry-After: rule.retry_after`, delay-seconds or an HTTP-date)
    slow     wait `rule.delay_ms`, then let the request through
    mutate   change a ticket in the emulation (a technician editing it mid-sync), then let the
             request through

A rule's `path` is looked for in the request path as the server sees it (vendor prefix
included, query string left out): "/allNotes", "/autotask/ATServicesRest/V1.0/Tickets/query".
Rules are evaluated in the order they were added; every matching rule counts the request, so
two rules on the same path keep independent schedules.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections import Counter
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.responses import JSONResponse

from connectors.sandbox.base import Emulation, FaultRule

log = logging.getLogger(__name__)

_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class FaultPlan:
    """A thread-safe list of fault rules, shared by the server and whoever injects faults."""

    def __init__(self, rules: list[FaultRule] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules or [])
        self._fired: Counter[str] = Counter()

    def add(self, rule: FaultRule) -> FaultRule:
        """Add a rule after the existing ones; return it (its `seen`/`fired` counts go live)."""
        with self._lock:
            self._rules.append(rule)
        log.debug("fault added: %s on %r (vendor %s)", rule.kind, rule.path, rule.vendor or "any")
        return rule

    def clear(self) -> int:
        """Remove every rule; return how many there were. Fired totals are kept."""
        with self._lock:
            removed = len(self._rules)
            self._rules.clear()
        return removed

    def snapshot(self) -> list[FaultRule]:
        """Copies of the current rules, with their counts as of now."""
        with self._lock:
            return [copy.copy(rule) for rule in self._rules]

    def fired(self) -> dict[str, int]:
        """How many faults have fired since the plan was made, by kind."""
        with self._lock:
            return dict(self._fired)

    def firing(self, vendor: str, path: str) -> list[FaultRule]:
        """Count one request to `vendor` at `path` against every rule; return those that fire."""
        with self._lock:
            fired = [rule for rule in self._rules
                     if rule.matches(vendor, path) and rule.should_fire()]
            for rule in fired:
                self._fired[rule.kind] += 1
        return [copy.copy(rule) for rule in fired]


def rule_as_dict(rule: FaultRule) -> dict[str, Any]:
    """A rule as plain JSON-ready data (for the control endpoints)."""
    return dataclasses.asdict(rule)


def fault_response(rule: FaultRule) -> JSONResponse:
    """The answer of a "status" rule.

    The body is vendor-neutral on purpose: a connector must act on the status and Retry-After,
    not on a body it happens to recognise.
    """
    headers: dict[str, str] = {}
    if rule.status == 429 and rule.retry_after:
        headers["Retry-After"] = rule.retry_after
    reason = _REASONS.get(rule.status, "Injected fault")
    body = {"error": reason, "status": rule.status, "detail": "injected by the fixedit sandbox"}
    return JSONResponse(body, status_code=rule.status, headers=headers)


def mutate_target(rule: FaultRule, emulation: Emulation) -> str | None:
    """The ticket a "mutate" rule changes: its `ticket_id`, else one from the middle of the data."""
    if rule.ticket_id:
        return rule.ticket_id
    ids = emulation.ticket_ids()
    return ids[len(ids) // 2] if ids else None


async def apply_faults(rules: list[FaultRule], emulation: Emulation) -> JSONResponse | None:
    """Apply fired rules in order; return the response of the first "status" rule, if any.

    "slow" and "mutate" rules before it still take effect; rules after it do not.
    """
    for rule in rules:
        if rule.kind == "slow":
            await anyio.sleep(rule.delay_ms / 1000)
        elif rule.kind == "mutate":
            target = mutate_target(rule, emulation)
            if target is None or target not in emulation.ticket_ids():
                log.warning("fault: %s has no live ticket %s to mutate", emulation.vendor, target)
                continue
            emulation.mutate(target)
            log.debug("fault: %s ticket %s mutated mid-request", emulation.vendor, target)
        else:
            return fault_response(rule)
    return None


class FaultSpec(BaseModel):
    """A fault rule as the control API accepts it (JSON): FaultRule's settable fields."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["status", "slow", "mutate"]
    path: str = ""
    vendor: str | None = None
    after: int = Field(default=0, ge=0)
    every: int = Field(default=1, ge=1)
    times: int = Field(default=1, ge=0, description="0: fire without limit.")
    status: int = Field(default=429, ge=400, le=599)
    retry_after: str | None = Field(default="1", description="Seconds or an HTTP-date.")
    delay_ms: int = Field(default=0, ge=0, le=600_000)
    ticket_id: str | None = None

    @field_validator("retry_after", "ticket_id", mode="before")
    @classmethod
    def _number_to_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    def to_rule(self) -> FaultRule:
        """The live rule this spec describes."""
        return FaultRule(**self.model_dump())


def parse_fault(data: Any) -> FaultRule:
    """Validate JSON data as a fault rule; ValueError naming the first bad field otherwise."""
    try:
        return FaultSpec.model_validate(data).to_rule()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(body)"
        raise FaultFieldError(field, first["msg"]) from exc


class FaultFieldError(ValueError):
    """A fault rule sent to the control API has a bad or unknown field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
