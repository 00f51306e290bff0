"""How the ConnectWise emulation answers: filter fields, error bodies, `fields=`, ordering, paging.

Listings page the vendor's two ways: navigable (`page`/`pageSize`, a `Link` header with next,
last, previous and first) and, where the endpoint supports it, forward-only (request header
`pagination-type: forward-only`; records in id order; the next link carries `pageId`, the last
id of the page). The last page of either kind has an empty `Link` header.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.sandbox.connectwise_conditions import (
    ConditionError,
    Node,
    lookup,
    matches,
    parse_conditions,
)

TICKET_FIELDS = {name: name for name in (
    "id", "summary", "recordType", "board/id", "board/name", "status/id", "status/name",
    "company/id", "company/identifier", "company/name", "contact/id", "contact/name",
    "owner/id", "owner/identifier", "priority/id", "priority/name", "source/name", "severity",
    "impact", "closedFlag", "closedDate", "_info/lastUpdated", "_info/dateEntered")}
TICKET_FIELDS.update(lastUpdated="_info/lastUpdated", dateEntered="_info/dateEntered")
ENTRY_FIELDS = {name: name for name in (
    "id", "chargeToId", "chargeToType", "member/id", "member/identifier", "company/id",
    "company/identifier", "ticket/id", "timeStart", "timeEnd", "dateEntered", "status",
    "billableOption", "_info/lastUpdated")}
ENTRY_FIELDS.update(lastUpdated="_info/lastUpdated")
NOTE_FIELDS = {name: name for name in (
    "id", "noteType", "detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag",
    "_info/lastUpdated")}
NOTE_FIELDS.update(lastUpdated="_info/lastUpdated")
"""Fields each listing filters and orders on (condition name -> record path)."""


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """The vendor's error body: `{code, message, errors}`."""
    return JSONResponse({"code": code, "message": message, **extra}, status_code=status)


def bad_request(message: str, field: str = "conditions") -> JSONResponse:
    """A 400 for a query parameter the emulation does not understand."""
    return error(400, "InvalidObject", message, errors=[
        {"code": "InvalidField", "message": message, "resource": "query", "field": field}])


def project(record: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Keep only the `fields=` paths of a record (nested with `/`)."""
    if not fields:
        return record
    kept: dict[str, Any] = {}
    for path in (part.strip() for part in fields.split(",")):
        value = lookup(record, path)
        if value is None:
            continue
        keys = path.split("/")
        target = kept
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = value
    return kept


def listing(request: Request, candidates: Callable[[Node | None], list[dict[str, Any]]],
            fields: dict[str, str], *, forward_only: bool) -> Response:
    """Filter, order and page a listing the way ConnectWise does."""
    params = request.query_params
    node: Node | None = None
    if params.get("conditions"):
        try:
            node = parse_conditions(params["conditions"], fields)
        except ConditionError as exc:
            return bad_request(str(exc))
    try:
        page_size = min(max(int(params.get("pageSize", 25)), 1), 1000)
        page = max(int(params.get("page", 1)), 1)
        page_id = int(params["pageId"]) if "pageId" in params else None
    except ValueError:
        return bad_request("page, pageSize and pageId must be whole numbers", field="page")
    records = [r for r in candidates(node) if node is None or matches(node, r)]
    asked = request.headers.get("pagination-type", "").lower()
    forward = forward_only and asked == "forward-only"
    if not forward:
        refused = _order_by(records, params.get("orderBy"), fields)
        if refused is not None:
            return refused
    link = ""
    if forward:
        records.sort(key=lambda r: r["id"])
        if page_id is not None:
            records = records[bisect_right([r["id"] for r in records], page_id):]
        shown = records[:page_size]
        if len(records) > page_size:
            url = request.url.remove_query_params("page").include_query_params(
                pageId=shown[-1]["id"])
            link = f'<{url}>; rel="next"'
    else:
        shown = records[(page - 1) * page_size: page * page_size]
        link = _navigable_links(request, page, page_size, len(records))
    body = [project(r, params.get("fields")) for r in shown]
    return JSONResponse(body, headers={"Link": link})


def _order_by(records: list[dict[str, Any]], order: str | None,
              fields: dict[str, str]) -> Response | None:
    if not order:
        return None
    parts = order.split()
    lowered = {name.lower(): path for name, path in fields.items()}
    path = lowered.get(parts[0].lower()) if parts else None
    direction = parts[1].lower() if len(parts) > 1 else "asc"
    if path is None or len(parts) > 2 or direction not in ("asc", "desc"):
        return bad_request(f"orderBy {order!r} is not supported", field="orderBy")
    present = [r for r in records if lookup(r, path) is not None]
    missing = [r for r in records if lookup(r, path) is None]
    present.sort(key=lambda r: lookup(r, path), reverse=direction == "desc")
    records[:] = present + missing
    return None


def _navigable_links(request: Request, page: int, page_size: int, total: int) -> str:
    last = max((total + page_size - 1) // page_size, 1)
    links = []
    if page < last:
        links.append(f'<{request.url.include_query_params(page=page + 1)}>; rel="next"')
        links.append(f'<{request.url.include_query_params(page=last)}>; rel="last"')
    if page > 1:
        links.append(f'<{request.url.include_query_params(page=page - 1)}>; rel="previous"')
        links.append(f'<{request.url.include_query_params(page=1)}>; rel="first"')
    return ", ".join(links)


def service_note(note: dict[str, Any]) -> dict[str, Any]:
    """An allNotes TicketNote in the ServiceNote shape /notes returns."""
    keys = ("id", "text", "detailDescriptionFlag", "internalAnalysisFlag", "resolutionFlag",
            "issueFlag", "member", "contact", "dateCreated", "createdBy", "_info")
    shaped = {key: note[key] for key in keys if key in note}
    shaped["ticketId"] = note["ticket"]["id"]
    shaped.update(internalFlag=bool(note.get("internalAnalysisFlag")),
                  externalFlag=bool(note.get("detailDescriptionFlag")))
    return shaped
