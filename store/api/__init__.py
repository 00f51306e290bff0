"""fixedit's REST API: routers, problem responses, key auth and rate limits (FastAPI).

The ASGI app itself is assembled in `fixedit.app.create_app`; this package holds the parts::

    ApiContext                  what routes share (engine, index, limiter, limits)
    v1, health_router           the routers
    install_problem_handlers    every error becomes application/problem+json (RFC 9457)
    BodySizeLimit               413 for oversized bodies
    RateLimiter                 per-key token bucket (429 + Retry-After)
"""

from store.api.context import ApiContext
from store.api.limits import BodySizeLimit
from store.api.problems import ApiProblem, Problem, install_problem_handlers
from store.api.ratelimit import RateLimiter
from store.api.routes import health_router, v1

__all__ = [
    "ApiContext",
    "ApiProblem",
    "BodySizeLimit",
    "Problem",
    "RateLimiter",
    "health_router",
    "install_problem_handlers",
    "v1",
]
