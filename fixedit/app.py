"""The ASGI app factory: settings in, a FastAPI app wired to the store, index and routers out.

`fixedit serve` runs it under uvicorn; tests call `create_app(settings, engine=...)` and drive
it with a TestClient. The engine is migrated before the app is returned, so the first request
never meets a missing table.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI

import store
from fixedit.settings import Settings
from store.api import (
    ApiContext,
    BodySizeLimit,
    RateLimiter,
    health_router,
    install_problem_handlers,
    v1,
)
from store.api.problems import PROBLEM_JSON
from store.lookup import SearchIndex

log = logging.getLogger(__name__)

API_VERSION = "1.0.0"
DESCRIPTION = """\
Look up prior resolutions for a new ticket, search the stored ones, and say what helped.

Every route but `/health` needs an API key (`fixedit keys create --scope read|write|admin`),
sent as `Authorization: Bearer fxk_…` or `X-API-Key: fxk_…`. Scopes: **read** (lookup,
resolutions), **write** (+ feedback), **admin** (+ metrics). A key limited to a company sees
only that company's records. Errors are RFC 9457 problem details (`application/problem+json`).
"""


def create_app(settings: Settings, *, engine: sa.Engine | None = None) -> FastAPI:
    """The API app for `settings`; `engine` (already made) overrides `settings.database_url`."""
    if engine is None:
        engine = store.make_engine(settings.database_url)
    store.migrate(engine)
    api = settings.api
    context = ApiContext(
        engine=engine,
        index=SearchIndex(engine),
        limiter=RateLimiter(per_minute=api.rate_limit_per_minute, burst=api.rate_limit_burst),
        max_page_size=api.max_page_size,
        redaction=settings.redaction,
        refresh_seconds=api.refresh_seconds,
        key_cache_seconds=api.key_cache_seconds,
    )
    app = FastAPI(
        title="fixedit",
        version=API_VERSION,
        description=DESCRIPTION,
        docs_url="/docs" if api.docs else None,
        redoc_url=None,
    )
    app.state.fixedit = context
    install_problem_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=api.max_body_bytes)
    app.include_router(health_router)
    app.include_router(v1)
    _register_problem_schema(app)
    return app


def _register_problem_schema(app: FastAPI) -> None:
    """Error responses are documented as `application/problem+json` only (FastAPI adds JSON)."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    for response in operation.get("responses", {}).values():
                        content = response.get("content", {})
                        if PROBLEM_JSON in content:
                            content.pop("application/json", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def ready_app(settings: Settings, *, engine: sa.Engine | None = None) -> FastAPI:
    """`create_app` with its lookup index built, for a server about to listen.

    No request pays for the first build. The index and the app live as long as the process, so
    they are moved out of the cyclic garbage collector's sight (`gc.freeze`): a full collection
    no longer walks them in the middle of a request, which is what made the latency's tail.
    """
    app = create_app(settings, engine=engine)
    started = time.perf_counter()
    indexed = app.state.fixedit.index.rebuild()
    log.info("lookup index: %d resolutions in %.1f s", indexed, time.perf_counter() - started)
    gc.collect()
    gc.freeze()
    return app

