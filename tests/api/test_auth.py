"""Access control on every route: keys, scopes, revocation and the per-key rate limit."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from store import session_scope
from store.keys import create_key, revoke_key
from tests.api.conftest import Keys, Seeded, TestClient, make_app
from tests.api.test_routes import assert_problem

ROUTES: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("POST", "/v1/lookup", {"title": "printer"}, "read"),
    ("GET", "/v1/resolutions", None, "read"),
    ("GET", "/v1/resolutions/{rid}", None, "read"),
    ("POST", "/v1/feedback", {"resolution_id": "{rid}", "helpful": True}, "write"),
    ("GET", "/v1/metrics", None, "admin"),
]
SCOPES = ("read", "write", "admin")


def call(client: TestClient, method: str, path: str, body: dict[str, Any] | None, rid: int,
         headers: dict[str, str]) -> Any:
    """Send one of ROUTES, with the resolution id filled in."""
    if body is not None:
        body = {k: rid if v == "{rid}" else v for k, v in body.items()}
    return client.request(method, path.replace("{rid}", str(rid)), json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body", "_scope"), ROUTES)
def test_every_route_but_health_needs_a_key(client: TestClient, seeded: Seeded, method: str,
                                            path: str, body: Any, _scope: str) -> None:
    rid = seeded["acme_printer"]
    missing = assert_problem(call(client, method, path, body, rid, {}), 401)
    assert missing["type"].endswith("unauthenticated")
    response = call(client, method, path, body, rid, {})
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bogus = call(client, method, path, body, rid, {"Authorization": "Bearer fxk_nope"})
    assert_problem(bogus, 401)
    assert "invalid_token" in bogus.headers["WWW-Authenticate"]


@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES)
def test_scopes_allow_what_they_name_and_refuse_the_rest(
        client: TestClient, keys: Keys, seeded: Seeded, method: str, path: str, body: Any,
        needed: str) -> None:
    rid = seeded["acme_printer"]
    for scope in SCOPES:
        response = call(client, method, path, body, rid, keys.make(scope))
        if SCOPES.index(scope) >= SCOPES.index(needed):
            assert response.status_code in (200, 201), (scope, response.text)
            assert response.headers["RateLimit-Limit"]
        else:
            body_ = assert_problem(response, 403)
            assert needed in body_["detail"]


def test_x_api_key_header_works_too(client: TestClient, keys: Keys, seeded: Seeded) -> None:
    token = keys.make("read")["Authorization"].removeprefix("Bearer ")
    assert client.get("/v1/resolutions", headers={"X-API-Key": token}).status_code == 200


def test_a_revoked_key_is_refused_at_once(client: TestClient, engine: sa.Engine,
                                          seeded: Seeded) -> None:
    with session_scope(engine) as session:
        created = create_key(session, scope="read")
    headers = {"Authorization": f"Bearer {created.secret}"}
    assert client.get("/v1/resolutions", headers=headers).status_code == 200
    with session_scope(engine) as session:
        revoke_key(session, prefix=created.key.prefix)
    assert_problem(client.get("/v1/resolutions", headers=headers), 401)


def test_a_revoked_key_is_refused_once_its_cached_check_expires(
        engine: sa.Engine, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_000.0]
    monkeypatch.setattr("store.api.context.time.monotonic", lambda: clock[0])
    with session_scope(engine) as session:
        created = create_key(session, scope="read")
    headers = {"Authorization": f"Bearer {created.secret}"}
    with TestClient(make_app(engine, key_cache_seconds=5)) as client:
        assert client.get("/v1/resolutions", headers=headers).status_code == 200
        with session_scope(engine) as session:
            revoke_key(session, prefix=created.key.prefix)
        clock[0] += 4.9  # within the documented window the process still trusts its check
        assert client.get("/v1/resolutions", headers=headers).status_code == 200
        clock[0] += 0.1
        assert_problem(client.get("/v1/resolutions", headers=headers), 401)
        clock[0] += 60  # and a refused key is not remembered as valid again
        assert_problem(client.get("/v1/resolutions", headers=headers), 401)


def test_rate_limit_answers_429_with_retry_after(engine: sa.Engine, seeded: Seeded,
                                                 keys: Keys) -> None:
    app = make_app(engine, rate_limit_per_minute=1, rate_limit_burst=2)
    first, second = keys.make("read"), keys.make("read")
    with TestClient(app) as client:
        answers = [client.get("/v1/resolutions", headers=first) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
        refused = assert_problem(answers[2], 429)
        assert refused["type"].endswith("rate-limited")
        assert int(answers[2].headers["Retry-After"]) >= 1
        # Another key has its own allowance; /health is not limited.
        assert client.get("/v1/resolutions", headers=second).status_code == 200
        assert all(client.get("/health").status_code == 200 for _ in range(5))


def test_the_key_is_never_echoed(client: TestClient, keys: Keys, seeded: Seeded) -> None:
    headers = keys.make("read")
    token = headers["Authorization"].removeprefix("Bearer ")
    broken = {"Authorization": f"Bearer {token}x"}
    for response in (client.get("/v1/resolutions", headers=broken),
                     client.get("/v1/resolutions?limit=x", headers=headers),
                     client.post("/v1/lookup", headers=headers, json={"title": token})):
        assert token not in response.text
