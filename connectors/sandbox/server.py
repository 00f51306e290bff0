"""The sandbox server: vendor emulations mounted side by side, traffic counted, faults applied.

    /<prefix>/...                       each emulation's own routes (e.g. /connectwise/...)
    GET    /_sandbox/health             liveness and the vendors served
    GET    /_sandbox/stats              requests per vendor, per endpoint, per status; faults fired
    DELETE /_sandbox/stats              reset the request counts
    GET    /_sandbox/faults             the fault rules with their counts
    POST   /_sandbox/faults             add a rule (JSON with FaultRule's fields)
    DELETE /_sandbox/faults             remove every rule
    POST   /_sandbox/{vendor}/mutate/{ticket_id}   edit a ticket now
    POST   /_sandbox/{vendor}/delete/{ticket_id}   delete a ticket
    POST   /_sandbox/{vendor}/notes/{ticket_id}    add a note: {"text": "..."}
    GET    /_sandbox/{vendor}/expected             what a connector must store

Only requests under a vendor's prefix are counted and subject to faults; the control endpoints
never are.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.sandbox.base import Emulation
from connectors.sandbox.faults import (
    FaultFieldError,
    FaultPlan,
    apply_faults,
    parse_fault,
    rule_as_dict,
)

CONTROL_PREFIX = "/_sandbox"
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")


class TrafficStats:
    """Thread-safe request counts per vendor, per endpoint and per response status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._endpoints: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._statuses: defaultdict[str, Counter[int]] = defaultdict(Counter)

    def count_request(self, vendor: str, method: str, path: str) -> None:
        """Count one request to `vendor`; `path` is relative to its prefix."""
        endpoint = f"{method} {_ID_SEGMENT.sub('/{id}', path) or '/'}"
        with self._lock:
            self._requests[vendor] += 1
            self._endpoints[vendor][endpoint] += 1

    def count_status(self, vendor: str, status: int) -> None:
        """Count one response status sent for `vendor`."""
        with self._lock:
            self._statuses[vendor][status] += 1

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._requests.clear()
            self._endpoints.clear()
            self._statuses.clear()

    def snapshot(self) -> dict[str, Any]:
        """The counts as JSON-ready data."""
        with self._lock:
            return {
                "requests": dict(self._requests),
                "requests_total": sum(self._requests.values()),
                "endpoints": {vendor: dict(counts) for vendor, counts in self._endpoints.items()},
                "statuses": {vendor: {str(status): n for status, n in counts.items()}
                             for vendor, counts in self._statuses.items()},
            }


class VendorTraffic:
    """ASGI middleware: counts each vendor request and applies the fault plan to it."""

    def __init__(self, app: ASGIApp, *, emulations: Mapping[str, Emulation], faults: FaultPlan,
                 stats: TrafficStats) -> None:
        self.app = app
        self.faults = faults
        self.stats = stats
        self._by_prefix = sorted(
            ((emulation.prefix.rstrip("/"), vendor, emulation)
             for vendor, emulation in emulations.items()),
            key=lambda entry: len(entry[0]), reverse=True,
        )

    def _vendor_of(self, path: str) -> tuple[str, str, Emulation] | None:
        for prefix, vendor, emulation in self._by_prefix:
            if path == prefix or path.startswith(prefix + "/"):
                return vendor, path[len(prefix):], emulation
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count, apply faults, then hand the request to the emulation (unless a fault answered)."""
        found = self._vendor_of(scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        vendor, relative, emulation = found
        self.stats.count_request(vendor, scope["method"], relative)

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.stats.count_status(vendor, message["status"])
            await send(message)

        response = await apply_faults(self.faults.firing(vendor, scope["path"]), emulation)
        if response is None:
            await self.app(scope, receive, counting_send)
            return
        await _drain(receive)  # read the unread body so the connection can be kept alive
        await response(scope, receive, counting_send)


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class _Control:
    """Handlers of the /_sandbox control endpoints."""

    def __init__(self, emulations: Mapping[str, Emulation], faults: FaultPlan,
                 stats: TrafficStats) -> None:
        self.emulations = emulations
        self.faults = faults
        self.stats = stats

    def routes(self) -> list[Route]:
        """The control routes, relative to CONTROL_PREFIX."""
        return [
            Route("/health", self.health, methods=["GET"]),
            Route("/stats", self.get_stats, methods=["GET"]),
            Route("/stats", self.reset_stats, methods=["DELETE"]),
            Route("/faults", self.list_faults, methods=["GET"]),
            Route("/faults", self.add_fault, methods=["POST"]),
            Route("/faults", self.clear_faults, methods=["DELETE"]),
            Route("/{vendor}/mutate/{ticket_id}", self.mutate, methods=["POST"]),
            Route("/{vendor}/delete/{ticket_id}", self.delete, methods=["POST"]),
            Route("/{vendor}/notes/{ticket_id}", self.add_note, methods=["POST"]),
            Route("/{vendor}/expected", self.expected, methods=["GET"]),
        ]

    async def health(self, request: Request) -> JSONResponse:
        """Liveness and the vendors served, with their prefixes."""
        return JSONResponse({"status": "ok", "vendors": {
            vendor: emulation.prefix for vendor, emulation in self.emulations.items()}})

    async def get_stats(self, request: Request) -> JSONResponse:
        """Request counts and fault totals."""
        return JSONResponse({**self.stats.snapshot(), "faults_fired": self.faults.fired()})

    async def reset_stats(self, request: Request) -> JSONResponse:
        """Reset the request counts (fault totals stay)."""
        self.stats.reset()
        return JSONResponse({"reset": True})

    async def list_faults(self, request: Request) -> JSONResponse:
        """The current rules with their seen/fired counts."""
        return JSONResponse({"faults": [rule_as_dict(rule) for rule in self.faults.snapshot()]})

    async def add_fault(self, request: Request) -> JSONResponse:
        """Add a rule from a JSON body; 422 naming the bad field."""
        try:
            data = json.loads(await request.body())
        except ValueError:
            return _error(422, "body must be a JSON object of fault fields", field="(body)")
        try:
            rule = parse_fault(data)
        except FaultFieldError as exc:
            return _error(422, exc.message, field=exc.field)
        if rule.vendor is not None and rule.vendor not in self.emulations:
            return _error(422, f"no vendor {rule.vendor!r} in this sandbox", field="vendor",
                          vendors=sorted(self.emulations))
        self.faults.add(rule)
        return JSONResponse({"fault": rule_as_dict(rule)}, status_code=201)

    async def clear_faults(self, request: Request) -> JSONResponse:
        """Remove every rule."""
        return JSONResponse({"cleared": self.faults.clear()})

    def _target(self, request: Request) -> tuple[Emulation, str] | JSONResponse:
        vendor = request.path_params["vendor"]
        emulation = self.emulations.get(vendor)
        if emulation is None:
            return _error(404, f"no vendor {vendor!r} in this sandbox",
                          vendors=sorted(self.emulations))
        ticket_id = request.path_params.get("ticket_id")
        if ticket_id is not None and ticket_id not in emulation.ticket_ids():
            return _error(404, f"{vendor} has no live ticket {ticket_id!r}")
        return emulation, ticket_id or ""

    async def mutate(self, request: Request) -> JSONResponse:
        """Edit a ticket now, as a technician would."""
        target = self._target(request)
        if isinstance(target, JSONResponse):
            return target
        emulation, ticket_id = target
        emulation.mutate(ticket_id)
        return JSONResponse({"mutated": ticket_id})

    async def delete(self, request: Request) -> JSONResponse:
        """Delete a ticket the way the vendor does."""
        target = self._target(request)
        if isinstance(target, JSONResponse):
            return target
        emulation, ticket_id = target
        emulation.delete(ticket_id)
        return JSONResponse({"deleted": ticket_id})

    async def add_note(self, request: Request) -> JSONResponse:
        """Add a technician note to a ticket: body {"text": "..."}."""
        target = self._target(request)
        if isinstance(target, JSONResponse):
            return target
        emulation, ticket_id = target
        try:
            data = json.loads(await request.body())
        except ValueError:
            data = None
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            return _error(422, 'body must be {"text": "<non-empty note text>"}', field="text")
        note_id = emulation.add_note(ticket_id, text)
        return JSONResponse({"ticket_id": ticket_id, "note_id": note_id}, status_code=201)

    async def expected(self, request: Request) -> JSONResponse:
        """Live tickets and their note ids, as a connector must store them."""
        target = self._target(request)
        if isinstance(target, JSONResponse):
            return target
        emulation, _ = target
        tickets = {ticket_id: sorted(notes) for ticket_id, notes in emulation.expected().items()}
        return JSONResponse({"vendor": emulation.vendor, "tickets": tickets})


def create_app(emulations: Mapping[str, Emulation], faults: FaultPlan) -> Starlette:
    """The sandbox ASGI app: every emulation under its prefix, plus the control endpoints."""
    stats = TrafficStats()
    control = _Control(emulations, faults, stats)
    routes: list[Any] = [Mount(CONTROL_PREFIX, routes=control.routes())]
    routes += [Mount(emulation.prefix.rstrip("/"), routes=list(emulation.routes()))
               for emulation in emulations.values()]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(VendorTraffic, emulations=emulations, faults=faults, stats=stats)],
    )
    app.state.stats = stats
    app.state.faults = faults
    app.state.emulations = emulations
    return app
