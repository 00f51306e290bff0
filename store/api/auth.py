"""API key authentication, scopes and the per-key rate limit, as FastAPI dependencies.

A key comes in ``Authorization: Bearer fxk_…`` or ``X-API-Key: fxk_…``. Order of checks:
no or bad key → 401 (with WWW-Authenticate), over the rate → 429 (with Retry-After),
scope too low → 403. The key itself is never logged; its public prefix may be.

`authenticate` is a coroutine: a key verified within the last ``[api] key_cache_seconds`` is
taken from memory (`ApiContext.cached_key`) without leaving the event loop; only a key not
seen lately is checked in the store, in the thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from store.api.context import ApiContext, api_context
from store.api.problems import ApiProblem
from store.db import session_scope
from store.keys import ApiKey, verify_key

_bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                     description="An API key: `Authorization: Bearer fxk_…`.")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                       description="An API key in the X-API-Key header.")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="fixedit"'}


async def authenticate(response: Response, context: ApiContext,
                       bearer: HTTPAuthorizationCredentials | None,
                       header: str | None) -> ApiKey:
    """The caller's key, charged one request against its rate limit."""
    token = bearer.credentials if bearer is not None else header
    if not token:
        raise ApiProblem(401, "an API key is required (Authorization: Bearer <key>)",
                         slug="unauthenticated", headers=CHALLENGE)
    key = context.cached_key(token)
    if key is None:
        key = await run_in_threadpool(_verify, context, token)
    if key is None:
        raise ApiProblem(401, "the API key is not valid or was revoked", slug="unauthenticated",
                         headers={"WWW-Authenticate":
                                  'Bearer realm="fixedit", error="invalid_token"'})
    decision = context.limiter.hit(key.id)
    if not decision.allowed:
        raise ApiProblem(429, f"rate limit reached; retry in {decision.retry_after} s",
                         slug="rate-limited", headers=decision.headers())
    response.headers.update(decision.headers())
    return key


def _verify(context: ApiContext, token: str) -> ApiKey | None:
    """The store's word on `token`, remembered when it is a valid key."""
    with session_scope(context.engine) as session:
        key = verify_key(session, token=token)
    if key is not None:
        context.remember_key(token, key)
    return key


def require(scope: str) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that authenticates and then insists on `scope` (or a higher one)."""

    async def check(
        response: Response,
        context: Annotated[ApiContext, Depends(api_context)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header: Annotated[str | None, Depends(_header)],
    ) -> ApiKey:
        # One dependency with the key's sources as its own: each layer of dependencies costs
        # every request a pass of FastAPI's resolver. async: a pure check has no reason to hop
        # to the thread pool.
        key = await authenticate(response, context, bearer, header)
        if not key.allows(scope):
            raise ApiProblem(403, f"this key's scope ({key.scope}) does not allow this; "
                             f"it needs {scope}", slug="insufficient-scope")
        return key

    check.__name__ = f"require_{scope}"
    return check
