"""The v1 routes (lookup, resolutions, feedback, metrics) and /health.

Routes are plain `def`s: FastAPI runs them in its thread pool, where the synchronous store and
index calls belong. The lookup is the exception: a coroutine that does its work on the event
loop. A lookup is CPU work under the GIL, so worker threads add no throughput to one process;
the trip to one and back cost more CPU than the rest of the request's handling, and the GIL,
which is not fair, let some requests starve while others finished. On the loop, lookups run
one at a time in the order they arrived. Company scoping is applied twice: as a filter in
every query, and again on every record before it is returned.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from extract.redact import redact_text, redact_ticket
from records import Resolution, Ticket
from store import catalog
from store.api.auth import require
from store.api.context import ApiContext, api_context
from store.api.problems import ApiProblem, FieldError, problem_doc
from store.api.schemas import (
    MAX_ID,
    FeedbackRequest,
    FeedbackResponse,
    Health,
    Links,
    LookupRequest,
    LookupResponse,
    PageLinks,
    ResolutionOut,
    ResolutionPage,
    evidence_items,
    lookup_json,
    match_json,
)
from store.db import check_connection, session_scope, translate_errors
from store.keys import ApiKey
from store.lookup import WORKED, Hit, LookupFilters
from store.metrics import Metrics, compute_metrics
from store.tables import nul_free
from store.usage import record_feedback, record_lookup

MAX_QUERY_CHARS = 20_000
"""Query text beyond this is not used: the head of a ticket says what it is about."""

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: problem_doc("No API key, or not a valid one."),
    403: problem_doc("The key's scope does not allow this."),
    429: problem_doc("The key's rate limit is reached; see Retry-After."),
    503: problem_doc("The store is unavailable."),
}
_INPUT_ERRORS: dict[int | str, dict[str, Any]] = {
    400: problem_doc("The body is not valid JSON."),
    413: problem_doc("The body is too large."),
    422: problem_doc("Invalid input; `errors` lists each field."),
}

Context = Annotated[ApiContext, Depends(api_context)]
Reader = Annotated[ApiKey, Depends(require("read"))]
Writer = Annotated[ApiKey, Depends(require("write"))]
Admin = Annotated[ApiKey, Depends(require("admin"))]


async def single_query_values(request: Request) -> None:
    """Refuse a query parameter given twice: every parameter here takes one value, and which
    of two would win is not something a client should have to guess. (A coroutine: a plain
    check has no reason to make every request wait for a thread.)"""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ApiProblem(
            422, f"query parameter(s) given more than once: {', '.join(repeated)}",
            slug="validation-error", title="Invalid input",
            errors=[FieldError(pointer=f"query.{name}", detail="given more than once",
                               type="repeated") for name in repeated])


v1 = APIRouter(prefix="/v1", responses=_AUTH_ERRORS, dependencies=[Depends(single_query_values)])
health_router = APIRouter()


def _links(resolution_id: int, resolution: Resolution) -> Links:
    return Links(self=f"/v1/resolutions/{resolution_id}", source=resolution.ticket.url)


def _company(key: ApiKey, requested: str | None) -> str | None:
    """The company a request is limited to: the key's, or the one asked for by a free key."""
    if key.company is None:
        return requested
    if requested is not None and requested != key.company:
        raise ApiProblem(403, "this key is limited to one company; it cannot ask for another",
                         slug="company-not-allowed")
    return key.company


def _query_text(body: LookupRequest, context: ApiContext) -> tuple[str, int]:
    """The redacted query text and how many secrets were removed. Never logged."""
    if body.ticket is not None:
        ticket, counts = redact_ticket(body.ticket, pii=context.redaction)
        return _ticket_text(ticket)[:MAX_QUERY_CHARS], sum(counts.values())
    text = "\n".join(part for part in (body.title, body.description) if part)
    redacted, found = redact_text(text.replace("\x00", ""), pii=context.redaction)
    return redacted[:MAX_QUERY_CHARS], sum(found.values())


def _ticket_text(ticket: Ticket) -> str:
    """Title, description and the notes, in order: what a technician reads first."""
    return "\n".join(part for part in (ticket.title, ticket.description,
                                       *(note.text for note in ticket.notes)) if part)


@v1.post("/lookup", response_model=LookupResponse, responses=_INPUT_ERRORS,
         summary="Find prior resolutions for a new ticket")
async def lookup(body: LookupRequest, key: Reader, context: Context,
                 response: Response) -> Response:
    """Rank stored resolutions against a new ticket's text (secrets are redacted first).

    Each match carries its score, the resolution with its evidence, and links to the record and
    to the source ticket. By default only fixes that worked, with a problem and a step, are
    returned; `filters.include_all` returns everything that matches.
    """
    answer = _lookup(body, key, _company(key, body.filters.company), context)
    headers = {name: value for name, value in response.headers.items()
               if name.lower() != "content-length"}  # the rate-limit headers
    return Response(answer, media_type="application/json", headers=headers)


def _lookup(body: LookupRequest, key: ApiKey, company: str | None, context: ApiContext) -> bytes:
    """The lookup's work: the search, its log row and the serialised answer."""
    query, redacted = _query_text(body, context)
    options = body.filters
    filters = LookupFilters(
        # Stored values had NUL replaced (PostgreSQL refuses it): filter with the same form.
        company=nul_free(company), category=nul_free(options.category),
        product=nul_free(options.product), source=nul_free(options.source),
        outcomes=None if options.include_all else WORKED, usable_only=not options.include_all,
    )
    found = context.fresh_index().hits(query, filters=filters, limit=body.limit)
    matches: list[str] = []
    kept: list[Hit] = []
    for hit in found:
        owner, out = match_json(hit.resolution_id, hit.payload, score=hit.score,
                                confident=hit.confident, matched=list(hit.matched))
        # Defence in depth: whatever the index returned, another company's record never leaves.
        if company is None or nul_free(owner) == filters.company:
            matches.append(out)
            kept.append(hit)
    with translate_errors(context.engine), context.engine.begin() as connection:
        lookup_id = record_lookup(connection, channel="api", matches=kept, key_id=key.id,
                                  company=company)
    # Written here, around the stored JSON: the records were validated when they were stored,
    # and reading them into models to write them out again cost more than the search itself.
    return lookup_json(lookup_id, matches, redacted).encode()


@v1.get("/resolutions", response_model=ResolutionPage, responses=_INPUT_ERRORS,
        summary="Search and list stored resolutions")
def list_resolutions(
    request: Request,
    key: Reader,
    context: Context,
    q: Annotated[str | None, Query(max_length=1_000,
                                   description="Keep records holding every word of this.")] = None,
    company: Annotated[str | None, Query(max_length=500)] = None,
    category: Annotated[str | None, Query(max_length=200)] = None,
    source: Annotated[str | None, Query(max_length=200)] = None,
    outcome: Annotated[str | None, Query(
        pattern="^(resolved|workaround|escalated|unresolved|unknown)$")] = None,
    usable: Annotated[bool, Query(description="Only records with a problem and a step.")] = False,
    closed_after: Annotated[str | None, Query(
        max_length=64, json_schema_extra={"format": "date-time"},
        description="Closed at or after this RFC 3339 time (with a zone).")] = None,
    closed_before: Annotated[str | None, Query(
        max_length=64, json_schema_extra={"format": "date-time"},
        description="Closed before this RFC 3339 time (with a zone).")] = None,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ResolutionPage:
    """A page of resolutions, most recently closed first, with the total and page links.

    `limit` is capped at the server's `max_page_size`.
    """
    after, before = _moment("closed_after", closed_after), _moment("closed_before", closed_before)
    limit = min(limit, context.max_page_size)
    filters = catalog.CatalogFilters(
        text=q, company=_company(key, company), category=category, source=source,
        outcome=outcome, usable_only=usable, closed_after=after, closed_before=before)
    with session_scope(context.engine) as session:
        page = catalog.list_entries(session, filters=filters, limit=limit, offset=offset)
    items = [_resolution_out(entry) for entry in page.items
             if key.company is None or entry.company == nul_free(key.company)]
    return ResolutionPage(items=items, total=page.total, limit=limit, offset=offset,
                          links=_page_links(request, page.total, limit, offset))


@v1.get("/resolutions/{resolution_id}", response_model=ResolutionOut,
        responses={404: problem_doc("No such resolution (or not one this key may see)."),
                   422: problem_doc("Invalid id.")},
        summary="One stored resolution")
def get_resolution(
    key: Reader, context: Context,
    resolution_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> ResolutionOut:
    """The resolution with this id, its evidence, and links to it and its source ticket."""
    with session_scope(context.engine) as session:
        entry = catalog.get_entry(session, resolution_id=resolution_id, company=key.company)
    if entry is None or (key.company is not None and entry.company != nul_free(key.company)):
        raise ApiProblem(404, f"no resolution {resolution_id}", slug="not-found")
    return _resolution_out(entry)


@v1.post("/feedback", response_model=FeedbackResponse, status_code=status.HTTP_201_CREATED,
         responses={**_INPUT_ERRORS,
                    404: problem_doc("No such resolution or lookup (or not one this key may "
                                     "see).")},
         summary="Say whether a suggested resolution helped")
def feedback(body: FeedbackRequest, key: Writer, context: Context) -> FeedbackResponse:
    """Record a verdict on one resolution, optionally citing the lookup that suggested it."""
    comment = body.comment
    if comment is not None:
        comment = redact_text(comment, pii=context.redaction)[0]
    with session_scope(context.engine) as session:
        if catalog.get_entry(session, resolution_id=body.resolution_id,
                             company=key.company) is None:
            raise ApiProblem(404, f"no resolution {body.resolution_id}", slug="not-found")
        if body.lookup_id is not None and not catalog.lookup_visible(
                session, lookup_id=body.lookup_id, company=key.company):
            raise ApiProblem(404, f"no lookup {body.lookup_id}", slug="not-found")
        feedback_id = record_feedback(session, resolution_id=body.resolution_id,
                                      helpful=body.helpful, lookup_id=body.lookup_id,
                                      key_id=key.id, comment=comment)
    return FeedbackResponse(feedback_id=feedback_id)


@v1.get("/metrics", response_model=Metrics, summary="Reuse and quality metrics")
def metrics(key: Admin, context: Context) -> Metrics:
    """Retention, "fixed it" rates, reuse and recurring problems (a company key: its own)."""
    with session_scope(context.engine) as session:
        return compute_metrics(session, company=key.company)


@health_router.get("/health", response_model=Health, responses={503: problem_doc("Store down.")},
                   summary="Liveness and database check (no key needed)")
def health(context: Context) -> Health:
    """`ok` when the API answers and its database does."""
    check_connection(context.engine)
    return Health(status="ok", database="ok")


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _moment(name: str, value: str | None) -> datetime | None:
    """An RFC 3339 time with a zone, strictly (no Unix numbers, no naive times), or a 422."""
    if value is None:
        return None
    try:
        if not _RFC3339.fullmatch(value):
            raise ValueError(value)
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise ApiProblem(
            422, f"{name} must be an RFC 3339 time with a zone, e.g. 2024-01-31T00:00:00Z",
            slug="validation-error", title="Invalid input",
            errors=[FieldError(pointer=f"query.{name}", detail="not an RFC 3339 time with a "
                               "zone", type="datetime_parsing")]) from None


def _resolution_out(entry: catalog.CatalogEntry) -> ResolutionOut:
    return ResolutionOut(id=entry.id, resolution=entry.resolution,
                         evidence=evidence_items(entry.resolution),
                         links=_links(entry.id, entry.resolution))


def _page_links(request: Request, total: int, limit: int, offset: int) -> PageLinks:
    """Relative links that keep the request's filters and move `offset`."""
    params = [(k, v) for k, v in request.query_params.multi_items()
              if k not in ("limit", "offset")]

    def at(where: int) -> str:
        return f"{request.url.path}?{urlencode([*params, ('limit', limit), ('offset', where)])}"

    following = at(offset + limit) if offset + limit < total else None
    previous = at(max(0, offset - limit)) if offset > 0 else None
    return PageLinks(self=at(offset), next=following, prev=previous)
