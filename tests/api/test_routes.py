"""Every v1 route on a seeded store: answers, scoping, pagination and problem responses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ACME, GLOBEX, Keys, Seeded, TestClient
from tests.factories import make_note, make_ticket

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status`; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    assert body["instance"] == response.request.url.path
    return body


# ---- lookup ------------------------------------------------------------------------------------

def test_lookup_ranks_matches_with_evidence_and_links(client: TestClient, keys: Keys,
                                                      seeded: Seeded) -> None:
    response = client.post("/v1/lookup", headers=keys.make("read"),
                           json={"title": "printer queue stuck", "limit": 10})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["lookup_id"] >= 1
    ids = [match["resolution_id"] for match in body["matches"]]
    # Only fixes that worked: the escalated one stays out; the VPN ones do not match.
    assert set(ids) == {seeded["acme_printer"], seeded["acme_printer_2"],
                        seeded["globex_printer"]}
    scores = [match["score"] for match in body["matches"]]
    assert scores == sorted(scores, reverse=True)
    first = body["matches"][0]
    assert first["resolution"]["steps"]
    assert any(item["field"] == "steps" for item in first["evidence"])
    assert first["links"]["self"] == f"/v1/resolutions/{first['resolution_id']}"
    assert first["links"]["source"].startswith("https://psa.example.com/tickets/")


def test_lookup_include_all_returns_the_escalated_record(client: TestClient, keys: Keys,
                                                         seeded: Seeded) -> None:
    response = client.post("/v1/lookup", headers=keys.make("read"),
                           json={"title": "printer queue stuck", "limit": 10,
                                 "filters": {"include_all": True}})
    assert response.status_code == 200, response.text
    ids = {match["resolution_id"] for match in response.json()["matches"]}
    assert seeded["acme_escalated"] in ids


def test_company_key_lookup_never_returns_another_company(client: TestClient, keys: Keys,
                                                          seeded: Seeded) -> None:
    response = client.post("/v1/lookup", headers=keys.make("read", company=GLOBEX),
                           json={"description": "print jobs stuck in the queue", "limit": 10})
    assert response.status_code == 200, response.text
    matches = response.json()["matches"]
    assert [m["resolution_id"] for m in matches] == [seeded["globex_printer"]]
    assert {m["resolution"]["company"] for m in matches} == {GLOBEX}


def test_company_key_cannot_ask_for_another_company(client: TestClient, keys: Keys,
                                                    seeded: Seeded) -> None:
    headers = keys.make("read", company=GLOBEX)
    response = client.post("/v1/lookup", headers=headers,
                           json={"title": "printer", "filters": {"company": ACME}})
    assert_problem(response, 403)
    listing = client.get("/v1/resolutions", headers=headers, params={"company": ACME})
    assert_problem(listing, 403)


def test_lookup_with_a_whole_ticket_redacts_secrets_first(client: TestClient, keys: Keys,
                                                          seeded: Seeded) -> None:
    ticket = make_ticket(title="Printer queue stuck again", notes=[
        make_note(text="Jobs stuck in queue. Admin password: Hunter2!xyz for the print server")])
    response = client.post("/v1/lookup", headers=keys.make("read"),
                           json={"ticket": ticket.model_dump(mode="json")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["redacted"] >= 1
    assert body["matches"], "the redacted ticket text still finds the printer fixes"
    assert "Hunter2" not in response.text


@pytest.mark.parametrize("payload", [
    {},
    {"title": "   "},
    {"title": "printer", "ticket": {"source": "x"}},
    {"title": "printer", "limit": 0},
    {"title": "printer", "limit": 51},
    {"title": "printer", "unexpected": 1},
    {"title": 5},
    {"ticket": {"source": "x", "external_id": "1"}},
    {"title": "x" * 1001},
])
def test_lookup_rejects_bad_input_with_field_errors(client: TestClient, keys: Keys,
                                                    payload: dict[str, Any]) -> None:
    body = assert_problem(client.post("/v1/lookup", headers=keys.make("read"), json=payload), 422)
    assert body["errors"]
    assert all(error["pointer"].startswith("#") for error in body["errors"])


def test_lookup_field_errors_point_at_the_field(client: TestClient, keys: Keys) -> None:
    response = client.post("/v1/lookup", headers=keys.make("read"),
                           json={"title": "printer", "limit": "many"})
    body = assert_problem(response, 422)
    assert [error["pointer"] for error in body["errors"]] == ["#/limit"]
    assert "many" not in response.text, "rejected input is not echoed back"


def test_malformed_json_is_400(client: TestClient, keys: Keys) -> None:
    response = client.post("/v1/lookup", headers={**keys.make("read"),
                                                  "content-type": "application/json"},
                           content=b'{"title": "printer"')
    assert_problem(response, 400)


def test_oversized_body_is_413(engine: Any, seeded: Seeded, keys: Keys) -> None:
    from tests.api.conftest import make_app

    app = make_app(engine, max_body_bytes=2048)
    with TestClient(app, raise_server_exceptions=False) as small:
        response = small.post("/v1/lookup", headers=keys.make("read"),
                              json={"description": "printer " * 1000})
        assert_problem(response, 413)

        def chunks() -> Any:  # no Content-Length: the limit still holds
            for _ in range(10):
                yield b"x" * 1000

        streamed = small.post("/v1/lookup", headers=keys.make("read"), content=chunks())
        assert_problem(streamed, 413)
        fine = small.post("/v1/lookup", headers=keys.make("read"), json={"title": "printer"})
        assert fine.status_code == 200


# ---- resolutions ------------------------------------------------------------------------------

def test_list_paginates_with_total_and_links(client: TestClient, keys: Keys,
                                             seeded: Seeded) -> None:
    headers = keys.make("read")
    seen: list[int] = []
    url: str | None = "/v1/resolutions?limit=4"
    pages = 0
    while url is not None:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == 6
        assert page["limit"] == 4
        seen += [item["id"] for item in page["items"]]
        url = page["links"]["next"]
        pages += 1
    assert pages == 2
    assert sorted(seen) == sorted(seeded.ids.values())
    last = client.get("/v1/resolutions?limit=4&offset=4", headers=headers).json()
    assert last["links"]["prev"] == "/v1/resolutions?limit=4&offset=0"
    assert last["links"]["next"] is None
    beyond = client.get("/v1/resolutions?offset=100", headers=headers).json()
    assert beyond["items"] == [] and beyond["total"] == 6


def test_list_filters_and_keeps_them_in_links(client: TestClient, keys: Keys,
                                              seeded: Seeded) -> None:
    headers = keys.make("read")
    response = client.get("/v1/resolutions", headers=headers,
                          params={"q": "fortigate", "limit": 1})
    page = response.json()
    assert page["total"] == 2
    assert {item["resolution"]["category"] for item in page["items"]} == {"network"}
    assert "q=fortigate" in page["links"]["next"]
    escalated = client.get("/v1/resolutions", headers=headers,
                           params={"outcome": "escalated"}).json()
    assert [item["id"] for item in escalated["items"]] == [seeded["acme_escalated"]]
    by_company = client.get("/v1/resolutions", headers=headers, params={"company": GLOBEX}).json()
    assert by_company["total"] == 2


def test_page_size_is_capped(engine: Any, seeded: Seeded, keys: Keys) -> None:
    from tests.api.conftest import make_app

    with TestClient(make_app(engine, max_page_size=2)) as capped:
        page = capped.get("/v1/resolutions?limit=50", headers=keys.make("read")).json()
    assert page["limit"] == 2
    assert len(page["items"]) == 2


def test_company_key_lists_only_its_company(client: TestClient, keys: Keys,
                                            seeded: Seeded) -> None:
    page = client.get("/v1/resolutions", headers=keys.make("read", company=ACME)).json()
    assert page["total"] == 4
    assert {item["resolution"]["company"] for item in page["items"]} == {ACME}


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "offset=-1", "outcome=fixed",
                                   "closed_after=yesterday", "closed_after=2024-01-01T00:00:00",
                                   "usable=maybe", "limit=1&limit=2",
                                   "closed_before=0001-01-01T00:00:00%2B05:00"])
def test_list_rejects_bad_parameters(client: TestClient, keys: Keys, query: str) -> None:
    body = assert_problem(client.get(f"/v1/resolutions?{query}", headers=keys.make("read")), 422)
    assert body["type"].endswith("validation-error")


def test_get_one_resolution(client: TestClient, keys: Keys, seeded: Seeded) -> None:
    rid = seeded["acme_vpn"]
    response = client.get(f"/v1/resolutions/{rid}", headers=keys.make("read"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == rid
    assert body["resolution"]["title"]["text"].startswith("VPN drops")
    assert body["links"] == {"self": f"/v1/resolutions/{rid}",
                             "source": body["resolution"]["ticket"]["url"]}


def test_another_companys_record_is_not_found(client: TestClient, keys: Keys,
                                              seeded: Seeded) -> None:
    headers = keys.make("read", company=ACME)
    hidden = assert_problem(client.get(f"/v1/resolutions/{seeded['globex_vpn']}",
                                       headers=headers), 404)
    missing = assert_problem(client.get("/v1/resolutions/999999", headers=headers), 404)
    # The same answer whether the record exists for someone else or not at all.
    assert hidden["title"] == missing["title"]
    assert client.get(f"/v1/resolutions/{seeded['acme_vpn']}", headers=headers).status_code == 200


@pytest.mark.parametrize("rid", ["0", "-3", "abc", "2147483648", "99999999999999999999999"])
def test_bad_resolution_id_is_422(client: TestClient, keys: Keys, rid: str) -> None:
    assert_problem(client.get(f"/v1/resolutions/{rid}", headers=keys.make("read")), 422)


# ---- feedback ---------------------------------------------------------------------------------

def test_feedback_cites_the_lookup(client: TestClient, keys: Keys, seeded: Seeded) -> None:
    headers = keys.make("write")
    found = client.post("/v1/lookup", headers=headers, json={"title": "printer queue"}).json()
    top = found["matches"][0]["resolution_id"]
    response = client.post("/v1/feedback", headers=headers,
                           json={"resolution_id": top, "helpful": True,
                                 "lookup_id": found["lookup_id"],
                                 "comment": "worked, password: Sup3rS3cret!x"})
    assert response.status_code == 201, response.text
    assert response.json()["feedback_id"] >= 1
    metrics = client.get("/v1/metrics", headers=keys.make("admin")).json()
    assert metrics["reuse"]["feedback"] == 1
    assert metrics["reuse"]["helpful"] == 1


def test_feedback_comment_is_stored_redacted(client: TestClient, keys: Keys, seeded: Seeded,
                                             engine: Any) -> None:
    from sqlmodel import Session, select

    from store.tables import FeedbackRow

    response = client.post("/v1/feedback", headers=keys.make("write"),
                           json={"resolution_id": seeded["acme_vpn"], "helpful": False,
                                 "comment": "did not help; the admin password: Sup3rS3cret!x"})
    assert response.status_code == 201, response.text
    with Session(engine) as session:
        [comment] = session.exec(select(FeedbackRow.comment)).all()
    assert comment is not None and "Sup3rS3cret" not in comment


def test_feedback_on_unknown_or_hidden_records_is_404(client: TestClient, keys: Keys,
                                                      seeded: Seeded) -> None:
    acme = keys.make("write", company=ACME)
    assert_problem(client.post("/v1/feedback", headers=acme,
                               json={"resolution_id": 999999, "helpful": True}), 404)
    assert_problem(client.post("/v1/feedback", headers=acme,
                               json={"resolution_id": seeded["globex_vpn"], "helpful": True}),
                   404)
    globex_lookup = client.post("/v1/lookup", headers=keys.make("read", company=GLOBEX),
                                json={"title": "vpn"}).json()["lookup_id"]
    assert_problem(client.post("/v1/feedback", headers=acme,
                               json={"resolution_id": seeded["acme_vpn"], "helpful": True,
                                     "lookup_id": globex_lookup}), 404)
    assert_problem(client.post("/v1/feedback", headers=acme,
                               json={"resolution_id": seeded["acme_vpn"], "helpful": True,
                                     "lookup_id": 999999}), 404)


@pytest.mark.parametrize("payload", [{}, {"resolution_id": 1}, {"resolution_id": 0,
                                                                "helpful": True},
                                     {"resolution_id": 1, "helpful": "perhaps"},
                                     {"resolution_id": 1, "helpful": True, "comment": "x" * 2001}])
def test_feedback_rejects_bad_input(client: TestClient, keys: Keys,
                                    payload: dict[str, Any]) -> None:
    assert_problem(client.post("/v1/feedback", headers=keys.make("write"), json=payload), 422)


# ---- metrics and health -----------------------------------------------------------------------

def test_metrics_are_scoped_to_a_company_key(client: TestClient, keys: Keys,
                                             seeded: Seeded) -> None:
    everyone = client.get("/v1/metrics", headers=keys.make("admin"))
    assert everyone.status_code == 200, everyone.text
    assert everyone.json()["company"] is None
    acme = client.get("/v1/metrics", headers=keys.make("admin", company=ACME)).json()
    assert acme["company"] == ACME
    assert acme["retention"]["extracted"] == 4
    assert everyone.json()["retention"]["extracted"] == 6


def test_health_needs_no_key(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_unknown_route_and_method_are_problems(client: TestClient, keys: Keys) -> None:
    assert_problem(client.get("/v1/nothing-here", headers=keys.make("read")), 404)
    wrong = assert_problem(client.delete("/v1/lookup", headers=keys.make("read")), 405)
    assert wrong["status"] == 405


def test_openapi_documents_problem_responses(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {"/health", "/v1/lookup", "/v1/resolutions",
                                    "/v1/resolutions/{resolution_id}", "/v1/feedback",
                                    "/v1/metrics"}
    lookup = schema["paths"]["/v1/lookup"]["post"]["responses"]
    for status in ("400", "401", "403", "413", "422", "429"):
        assert list(lookup[status]["content"]) == [PROBLEM]
    assert client.get("/docs").status_code == 200


def test_a_database_outage_is_a_503_problem(app: Any, keys: Keys) -> None:
    from store import make_engine

    headers = keys.make("read")
    context = app.state.fixedit
    healthy = context.engine
    # Nothing listens on port 1: every connection is refused at once.
    context.engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            down = assert_problem(client.get("/health"), 503)
            assert down["type"].endswith("store-unavailable")
            assert "nobody" not in client.get("/health").text
            assert_problem(client.get("/v1/resolutions", headers=headers), 503)
    finally:
        context.engine.dispose()
        context.engine = healthy


def test_nul_characters_in_filters_are_harmless(client: TestClient, keys: Keys,
                                                seeded: Seeded) -> None:
    # PostgreSQL refuses NUL in text parameters; the store keeps NUL-free values, so filters
    # are compared in that form and simply match nothing here.
    headers = keys.make("write")
    for name in ("company", "category", "source", "q"):
        page = client.get("/v1/resolutions", headers=headers, params={name: "Acme\x00"})
        assert page.status_code == 200, page.text
        assert page.json()["total"] == 0
    found = client.post("/v1/lookup", headers=headers,
                        json={"title": "printer\x00 queue",
                              "filters": {"company": "\x00", "category": "\x00",
                                          "product": "\x00", "source": "\x00"}})
    assert found.status_code == 200, found.text
    assert found.json()["matches"] == []
    assert client.post("/v1/feedback", headers=headers,
                       json={"resolution_id": seeded["acme_vpn"], "helpful": True,
                             "comment": "ok\x00"}).status_code == 201
