"""The HaloPSA emulation, spoken to directly (TestClient) and through the real connector."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from connectors.halopsa import HaloPsa, HaloPsaSettings
from connectors.sandbox.base import FIXTURES
from connectors.sandbox.corpus import load_corpus
from connectors.sandbox.halopsa import CLIENT_ID, CLIENT_SECRET, TENANT, HaloPsaEmulation
from connectors.sandbox.halopsa_fixtures import build_fixtures, render
from records import Ticket

with warnings.catch_warnings():  # starlette may ask for httpx2 when only httpx is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


class Clock:
    """The sandbox clock, settable."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def corpus() -> list[Ticket]:
    return load_corpus()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulation(clock: Clock) -> HaloPsaEmulation:
    return HaloPsaEmulation(FIXTURES, token_ttl=300, clock=clock)


@pytest.fixture
def client(emulation: HaloPsaEmulation) -> Iterator[TestClient]:
    app = Starlette(routes=[Mount(emulation.prefix, routes=list(emulation.routes()))])
    with TestClient(app, base_url="http://sandbox.test") as test_client:
        yield test_client


def get_token(client: TestClient, **form: str) -> httpx.Response:
    body = {"grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "scope": "all", "tenant": TENANT, **form}
    return client.post("/halopsa/auth/token", data=body)


def auth(client: TestClient, scope: str = "all") -> dict[str, str]:
    token = get_token(client, scope=scope).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def all_ids(client: TestClient, headers: dict[str, str], **params: str) -> list[int]:
    response = client.get("/halopsa/api/Tickets", headers=headers,
                          params={"ticketidonly": "true", **params})
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["tickets"]]


class ViaTestClient(httpx.BaseTransport):
    """An httpx transport that hands each request to a Starlette TestClient.

    The connector takes an `httpx.Client` (its auth hooks are httpx's); starlette's TestClient is
    built on httpx2 when that is installed, so the two meet at the wire: method, URL, headers and
    body in, status, headers and body out.
    """

    def __init__(self, client: TestClient) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._client.request(request.method, str(request.url),
                                      headers=list(request.headers.multi_items()),
                                      content=request.read())
        return httpx.Response(answer.status_code, headers=list(answer.headers.multi_items()),
                              content=answer.content, request=request)


def connector(client: TestClient, emulation: HaloPsaEmulation, **overrides: object) -> HaloPsa:
    values = {"name": "halo-sandbox", **emulation.source_config("http://sandbox.test"),
              **emulation.secrets(), **overrides}
    http = httpx.Client(transport=ViaTestClient(client), base_url="http://sandbox.test")
    return HaloPsa(HaloPsaSettings.model_validate(values), client=http, sleep=lambda _: None)


# -- auth ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("form", "error"), [
    ({"client_secret": "wrong"}, "invalid_client"),
    ({"tenant": "someone-else"}, "invalid_client"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
    ({"scope": "read:actions"}, "invalid_scope"),
])
def test_token_endpoint_refuses_bad_grants_like_halo(client, form, error) -> None:
    response = get_token(client, **form)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_api_wants_a_live_bearer_token(client, clock) -> None:
    assert client.get("/halopsa/api/Tickets").status_code == 401
    bogus = client.get("/halopsa/api/Tickets", headers={"Authorization": "Bearer nope"})
    assert bogus.status_code == 401 and "invalid_token" in bogus.headers["WWW-Authenticate"]
    headers = auth(client)
    assert client.get("/halopsa/api/Tickets", headers=headers).status_code == 200
    clock.now += timedelta(seconds=301)
    expired = client.get("/halopsa/api/Tickets", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.headers["WWW-Authenticate"]


def test_writing_needs_the_edit_scope(client) -> None:
    response = client.post("/halopsa/api/Actions", headers=auth(client, "read:tickets"),
                           json=[{"ticket_id": 10001, "note": "x"}])
    assert response.status_code == 403


# -- filters and paging ----------------------------------------------------------------------

def test_unsupported_parameters_get_a_validation_problem(client) -> None:
    response = client.get("/halopsa/api/Tickets", headers=auth(client),
                          params={"search": "printer", "page_no": "zero"})
    body = response.json()
    assert response.status_code == 400
    assert body["title"] == "One or more validation errors occurred."
    assert set(body["errors"]) == {"search", "page_no"}


def test_update_window_is_half_open_and_pages_cover_it_in_id_order(client, emulation) -> None:
    headers = auth(client)
    everything = all_ids(client, headers)
    assert everything == sorted(everything) and len(everything) >= 150
    tickets = client.get("/halopsa/api/Tickets", headers=headers).json()["tickets"]
    stamp = tickets[40]["last_update"].removesuffix("Z")
    moment = datetime.fromisoformat(stamp).replace(microsecond=0)
    inside = all_ids(client, headers, lastupdatefromdate=moment.isoformat(),
                     lastupdatetodate=(moment + timedelta(seconds=1)).isoformat())
    before = all_ids(client, headers, lastupdatetodate=moment.isoformat())
    assert tickets[40]["id"] in inside and tickets[40]["id"] not in before
    paged: list[int] = []
    for page_no in range(1, 100):
        body = client.get("/halopsa/api/Tickets", headers=headers, params={
            "pageinate": "true", "page_size": "37", "page_no": str(page_no), "order": "id",
            "ticketidonly": "true"}).json()
        assert body["record_count"] == len(everything)
        if not body["tickets"]:
            break
        paged += [row["id"] for row in body["tickets"]]
    assert paged == everything


def test_excludesys_drops_system_actions(client) -> None:
    headers = auth(client)
    every = client.get("/halopsa/api/Actions", headers=headers,
                       params={"ticket_id": "10001"}).json()
    notes = client.get("/halopsa/api/Actions", headers=headers,
                       params={"ticket_id": "10001", "excludesys": "true"}).json()
    assert notes["record_count"] == every["record_count"] - 1  # "Ticket Logged" is system
    assert all(not a["action_systemid"] for a in notes["actions"])


# -- changes ---------------------------------------------------------------------------------

def test_mutate_add_note_delete_and_writeback_are_visible(client, emulation, clock) -> None:
    headers = auth(client)
    since = (clock.now - timedelta(seconds=1)).replace(tzinfo=None, microsecond=0).isoformat()
    assert all_ids(client, headers, lastupdatefromdate=since) == []
    emulation.mutate("10002")
    note_id = emulation.add_note("10003", "checked the spooler")
    assert all_ids(client, headers, lastupdatefromdate=since) == [10002, 10003]
    assert note_id in emulation.expected()["10003"]
    posted = client.post("/halopsa/api/Actions", headers=headers, json=[
        {"ticket_id": 10004, "note": "similar fix", "outcome": "Private Note",
         "hiddenfromuser": True}])
    assert posted.status_code == 201
    assert f"10004-{posted.json()['id']}" in emulation.expected()["10004"]
    emulation.delete("10002")
    assert 10002 not in all_ids(client, headers)
    assert "10002" not in emulation.expected() and "10002" not in emulation.ticket_ids()


def test_scale_clones_tickets_with_fresh_ids_and_earlier_dates(emulation) -> None:
    scaled = HaloPsaEmulation(FIXTURES, scale=3)
    assert len(scaled.ticket_ids()) == 3 * len(emulation.ticket_ids())
    assert len(set(scaled.ticket_ids())) == len(scaled.ticket_ids())
    assert len(scaled.malformed_ids()) == 3 * len(emulation.malformed_ids()) == 6
    assert (scaled.source_config("http://x")["start_date"]
            < emulation.source_config("http://x")["start_date"])


# -- the real connector against the emulation ------------------------------------------------

def test_connector_syncs_exactly_what_the_sandbox_expects(client, emulation) -> None:
    halo = connector(client, emulation, backfill_slice="120d")
    halo.check()
    batches = list(halo.pull("ticket", since=None))
    stored = {t.external_id: frozenset(n.external_id for n in t.notes)
              for b in batches for t in b.items if isinstance(t, Ticket)}
    rejected = sorted(r.external_id for b in batches for r in b.rejects)
    assert stored == emulation.expected()
    assert rejected == emulation.malformed_ids()
    assert sorted(halo.reconcile("ticket")) == sorted(emulation.ticket_ids())


def test_a_ticket_changed_mid_sync_is_neither_lost_nor_its_neighbours(
    client, emulation, clock
) -> None:
    clock.now = datetime.now(UTC) - timedelta(seconds=30)  # after this run's end bound
    halo = connector(client, emulation, backfill_slice="3650d", page_size=25)
    seen: set[str] = set()
    batches = halo.pull("ticket", since=None)
    last_cursor = None
    for number, batch in enumerate(batches):
        seen |= {t.external_id for t in batch.items} | {r.external_id for r in batch.rejects}
        last_cursor = batch.cursor
        if number == 1:
            emulation.mutate("10003")  # already read: it leaves the window, the rest shift
    assert seen == set(emulation.ticket_ids())
    again = connector(client, emulation, lookback="0s", safety_lag="0s")
    assert "10003" in {t.external_id for b in again.pull("ticket", since=last_cursor)
                       for t in b.items}


def test_writeback_through_the_connector_lands_as_a_private_action(client, emulation) -> None:
    halo = connector(client, emulation, writeback={"enabled": True, "dry_run": False})
    note_id = halo.post_internal_note("10006", "Similar prior fix: re-register the DLL")
    assert note_id in emulation.expected()["10006"]


def test_fixtures_build_deterministically_with_two_broken_tickets(corpus, tmp_path: Path) -> None:
    build_fixtures(corpus, tmp_path)
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    build_fixtures(corpus, tmp_path)
    assert first == {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    committed = (FIXTURES / "halopsa" / "tickets.json").read_bytes()
    assert first["tickets.json"] == committed, "stale: run python -m connectors.sandbox.halopsa"
    payloads = render(corpus[:20])
    assert len(payloads.tickets) == 160  # a small corpus is padded with re-dated copies
    assert len({t["id"] for t in payloads.tickets}) == 160
    assert [m["field"].split("[")[0] for m in payloads.malformed] == ["dateoccurred", "actions"]
