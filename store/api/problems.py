"""RFC 9457 problem details: every error the API answers has this shape, never a traceback.

`ApiProblem` is raised by routes and dependencies; the handlers installed by
`install_problem_handlers` turn it, Starlette's HTTP errors, request validation errors and
anything unexpected into ``application/problem+json`` responses.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from records import StoreError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:fixedit:problem:"
"""Problem types are URNs: stable identifiers, nothing to dereference."""


class FieldError(BaseModel):
    """One invalid input field."""

    pointer: str = Field(description="Where: e.g. `#/title` (body) or `query.limit`.")
    detail: str = Field(description="What is wrong with it.")
    type: str = Field(description="A machine-readable error kind, e.g. `missing`.")


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    type: str = Field(default="about:blank", description="A URI identifying the problem type.")
    title: str = Field(description="A short, human-readable summary of the problem type.")
    status: int = Field(ge=100, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What happened this time.")
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldError] | None = Field(
        default=None, description="Per-field errors, for invalid input.")


class ApiProblem(Exception):
    """Raise to answer with a problem response."""

    def __init__(
        self, status: int, detail: str | None = None, *, slug: str | None = None,
        title: str | None = None, headers: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] | None = None,
    ) -> None:
        super().__init__(detail or "")
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.headers = dict(headers or {})
        self.errors = list(errors) if errors is not None else None


def problem_response(request: Request, problem: ApiProblem) -> JSONResponse:
    """The JSON response for `problem`, its instance being the request path (no query)."""
    body = Problem(
        type=f"{TYPE_BASE}{problem.slug}" if problem.slug else "about:blank",
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance=request.url.path,
        errors=problem.errors,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=problem.status,
                        headers=problem.headers, media_type=PROBLEM_JSON)


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI `responses` entry for a problem response."""
    return {"description": description, "model": Problem,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _pointer(loc: Sequence[Any]) -> str:
    """`#/ticket/notes/0/text` for a body location, `query.limit` for the others."""
    if loc and loc[0] == "body":
        return "#" + "".join(f"/{part}" for part in loc[1:])
    return ".".join(str(part) for part in loc)


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for error in exc.errors():
        message = str(error.get("msg", "invalid"))
        # Never echo the rejected input itself: it may be a secret pasted in the wrong field.
        errors.append(FieldError(pointer=_pointer(error.get("loc", ())), detail=message,
                                 type=str(error.get("type", "invalid"))))
    return errors


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(request, exc)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    if any(error.type == "json_invalid" for error in errors):
        return problem_response(request, ApiProblem(
            400, "the request body is not valid JSON", slug="malformed-json", errors=errors))
    count = len(errors)
    return problem_response(request, ApiProblem(
        422, f"{count} invalid field{'s' if count != 1 else ''}; see errors",
        slug="validation-error", title="Invalid input", errors=errors))


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
        detail = "no such route"
    return problem_response(request, ApiProblem(exc.status_code, detail, headers=headers))


async def _on_store(request: Request, exc: Exception) -> JSONResponse:
    # The message names the database, never its password; it stays in the server log.
    log.error("store error on %s %s: %s", request.method, request.url.path, exc)
    return problem_response(request, ApiProblem(
        503, "the store is unavailable; try again shortly", slug="store-unavailable",
        headers={"Retry-After": "5"}))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(request, ApiProblem(500, "an unexpected error occurred"))


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error `app` answers a problem response."""
    app.add_exception_handler(ApiProblem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(StoreError, _on_store)
    app.add_exception_handler(Exception, _on_unexpected)
