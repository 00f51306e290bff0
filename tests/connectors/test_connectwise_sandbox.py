"""The ConnectWise emulation: auth like the vendor, real conditions, paging, state changes, and a
full sync through it with the real connector."""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.routing import Mount

from connectors.connectwise import ConnectWise, ConnectWiseSettings
from connectors.connectwise_models import cw_string
from connectors.sandbox.base import FIXTURES
from connectors.sandbox.connectwise import CLIENT_ID, ConnectWiseEmulation, build_fixtures
from connectors.sandbox.connectwise_conditions import (
    ConditionError,
    matches,
    parse_conditions,
)
from connectors.sandbox.connectwise_fixtures import stamp
from connectors.sandbox.corpus import load_corpus
from records import Ticket

with warnings.catch_warnings():
    # starlette asks for httpx2 when the TestClient runs on httpx; the test client still works
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

API = "/connectwise/v2024_1/apis/3.0"
TOKEN = base64.b64encode(b"northgate+sandbox-public-key:sandbox-private-key").decode()
AUTH = {"Authorization": f"Basic {TOKEN}", "clientId": CLIENT_ID}
FORWARD = {**AUTH, "pagination-type": "forward-only"}
FIELDS = {"id": "id", "summary": "summary", "lastUpdated": "_info/lastUpdated",
          "board/name": "board/name", "closedFlag": "closedFlag"}


@pytest.fixture(scope="module")
def shared() -> ConnectWiseEmulation:
    """One emulation for the read-only tests."""
    return ConnectWiseEmulation(FIXTURES)


def serve(emulation: ConnectWiseEmulation) -> TestClient:
    app = Starlette(routes=[Mount(emulation.prefix, routes=list(emulation.routes()))])
    return TestClient(app, base_url="http://sandbox.test")


@pytest.fixture
def emulation() -> ConnectWiseEmulation:
    """A fresh emulation for tests that change it."""
    return ConnectWiseEmulation(FIXTURES)


@pytest.fixture
def client(emulation: ConnectWiseEmulation) -> Iterator[TestClient]:
    with serve(emulation) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def reader(shared: ConnectWiseEmulation) -> Iterator[TestClient]:
    with serve(shared) as test_client:
        yield test_client


def fixture_tickets() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "connectwise" / "tickets.json").read_text(encoding="utf-8"))


# -- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {},
    {"clientId": CLIENT_ID},
    {"Authorization": "Basic " + base64.b64encode(b"northgate+sandbox-public-key:wrong").decode(),
     "clientId": CLIENT_ID},
    {"Authorization": "Basic " + base64.b64encode(b"otherco+sandbox-public-key:"
                                                  b"sandbox-private-key").decode(),
     "clientId": CLIENT_ID},
    {"Authorization": AUTH["Authorization"]},
    {"Authorization": AUTH["Authorization"], "clientId": "11111111-2222-4333-8444-555555555555"},
])
def test_bad_or_missing_credentials_get_the_vendor_401(reader: TestClient,
                                                       headers: dict[str, str]) -> None:
    response = reader.get(f"{API}/service/tickets", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "Unauthorized"


def test_company_info_needs_no_credentials_and_names_the_codebase(reader: TestClient) -> None:
    response = reader.get("/connectwise/login/companyinfo/NorthGate")
    assert response.status_code == 200 and response.json()["Codebase"] == "v2024_1/"
    assert reader.get("/connectwise/login/companyinfo/nobody").status_code == 404


def test_an_upgrade_moves_the_codebase_and_the_old_one_answers_404(
        emulation: ConnectWiseEmulation, client: TestClient) -> None:
    emulation.set_codebase("v2025_1")
    assert client.get(f"{API}/system/info", headers=AUTH).status_code == 404
    assert client.get("/connectwise/login/companyinfo/northgate").json()["Codebase"] == "v2025_1/"
    moved = "/connectwise/v2025_1/apis/3.0/system/info"
    assert client.get(moved, headers=AUTH).status_code == 200


# -- conditions, paging, fields -------------------------------------------------------------


def test_conditions_filter_like_the_vendor(reader: TestClient) -> None:
    tickets = fixture_tickets()
    stamps = sorted(t["_info"]["lastUpdated"] for t in tickets)
    low, high = stamps[20], stamps[80]
    conditions = f"lastUpdated>=[{low}] and lastUpdated<[{high}] and id>48050"
    response = reader.get(f"{API}/service/tickets", headers=AUTH,
                          params={"conditions": conditions, "pageSize": 1000})
    wanted = sorted(t["id"] for t in tickets
                    if low <= t["_info"]["lastUpdated"] < high and t["id"] > 48050)
    assert [t["id"] for t in response.json()] == wanted and wanted


def test_forward_only_paging_walks_every_record_once_by_page_id(reader: TestClient) -> None:
    url: str | None = f"{API}/service/tickets?pageSize=40&orderBy=id%20asc"
    seen: list[int] = []
    while url:
        response = reader.get(url, headers=FORWARD)
        seen += [t["id"] for t in response.json()]
        link = response.headers["Link"]
        url = link[1:link.index(">")] if link else None
        if url:
            assert f"pageId={seen[-1]}" in url
    assert seen == sorted(t["id"] for t in fixture_tickets())


def test_navigable_paging_gives_next_last_previous_first(reader: TestClient) -> None:
    response = reader.get(f"{API}/service/tickets", headers=AUTH,
                          params={"page": 2, "pageSize": 50, "orderBy": "id desc"})
    ids = sorted((t["id"] for t in fixture_tickets()), reverse=True)
    assert [t["id"] for t in response.json()] == ids[50:100]
    link = response.headers["Link"]
    for rel, number in (("next", 3), ("last", (len(ids) + 49) // 50), ("previous", 1),
                        ("first", 1)):
        assert f'page={number}>; rel="{rel}"' in link


def test_fields_trims_records_to_the_named_paths(reader: TestClient) -> None:
    response = reader.get(f"{API}/service/tickets", headers=AUTH,
                          params={"fields": "id,board/name", "pageSize": 3})
    assert [set(t) for t in response.json()] == [{"id", "board"}] * 3
    assert set(response.json()[0]["board"]) == {"name"}


@pytest.mark.parametrize(("params", "field"), [
    ({"conditions": "lastUpdated>=[not a date]"}, "conditions"),
    ({"conditions": "secretField=1"}, "conditions"),
    ({"conditions": "id>"}, "conditions"),
    ({"conditions": "summary contains 5"}, "conditions"),
    ({"orderBy": "summary sideways"}, "orderBy"),
    ({"pageSize": "lots"}, "page"),
])
def test_what_is_not_understood_is_a_400_in_the_vendor_shape(
        reader: TestClient, params: dict[str, str], field: str) -> None:
    response = reader.get(f"{API}/service/tickets", headers=AUTH, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidObject" and body["message"]
    assert body["errors"][0]["field"] == field


def test_time_entries_filter_by_parent_ticket(reader: TestClient) -> None:
    entries = json.loads((FIXTURES / "connectwise" / "time_entries.json").read_text("utf-8"))
    parents = sorted({e["chargeToId"] for e in entries})[:3]
    condition = f'chargeToType={cw_string("ServiceTicket")} and chargeToId in ' \
                f'({",".join(map(str, parents))})'
    response = reader.get(f"{API}/time/entries", headers=AUTH,
                          params={"conditions": condition, "pageSize": 1000})
    assert sorted(e["id"] for e in response.json()) == sorted(
        e["id"] for e in entries if e["chargeToId"] in parents)


def test_the_condition_language_parses_for_real() -> None:
    record = {"id": 7, "summary": 'Printer says "PC LOAD LETTER"', "closedFlag": False,
              "board": {"name": "Help Desk"}, "_info": {"lastUpdated": "2024-05-03T18:42:11Z"}}

    def check(text: str) -> bool:
        return matches(parse_conditions(text, FIELDS), record)

    assert check(f"summary contains {cw_string('PC LOAD')} and board/name=\"help desk\"")
    assert check(f"summary={cw_string(record['summary'])}")
    assert check("id=1 or id=7 and closedFlag=false")  # and binds tighter than or
    assert not check("(id=1 or id=7) and closedFlag=true")
    assert check("id not in (1,2) and summary like \"Printer*\"")
    assert check("lastUpdated>=[2024-05-03T14:42:11-04:00]")  # zones are normalised
    assert not check("lastUpdated<[2024-05-03T18:42:11Z]")
    assert check("board/name != null and summary not contains \"toner\"")
    for bad in ("id=", "id=(1)", "id in 1", "(id=1", "not id=1", "id=1 and", "and=1"):
        with pytest.raises(ConditionError):
            parse_conditions(bad, FIELDS)


# -- state changes ---------------------------------------------------------------------------


def test_mutate_restamps_a_ticket_so_a_later_window_finds_it(
        emulation: ConnectWiseEmulation, client: TestClient) -> None:
    ticket_id = emulation.ticket_ids()[10]
    before = datetime.now(UTC) - timedelta(seconds=2)
    emulation.mutate(ticket_id)
    response = client.get(f"{API}/service/tickets", headers=AUTH,
                          params={"conditions": f"lastUpdated>=[{stamp(before)}]"})
    assert [t["id"] for t in response.json()] == [int(ticket_id)]
    assert response.json()[0]["summary"].endswith("(edit 1)")


def test_added_notes_and_deletions_show_in_listings_and_expected(
        emulation: ConnectWiseEmulation, client: TestClient) -> None:
    keep, gone = emulation.ticket_ids()[5], emulation.ticket_ids()[6]
    note_id = emulation.add_note(keep, "rebooted the printer again")
    notes = client.get(f"{API}/service/tickets/{keep}/allNotes", headers=AUTH).json()
    assert notes[-1]["id"] == int(note_id) and notes[-1]["text"] == "rebooted the printer again"
    assert note_id in emulation.expected()[keep]
    emulation.delete(gone)
    ids = [t["id"] for t in client.get(f"{API}/service/tickets", headers=AUTH,
                                       params={"fields": "id", "pageSize": 1000}).json()]
    assert int(gone) not in ids and gone not in emulation.expected()
    assert client.get(f"{API}/service/tickets/{gone}/allNotes", headers=AUTH).status_code == 404
    entries = client.get(f"{API}/time/entries", headers=AUTH,
                         params={"conditions": f"chargeToId={gone}"}).json()
    assert entries == []


def test_posted_notes_need_text_and_a_flag(emulation: ConnectWiseEmulation,
                                           client: TestClient) -> None:
    ticket_id = emulation.ticket_ids()[0]
    url = f"{API}/service/tickets/{ticket_id}/notes"
    assert client.post(url, headers=AUTH, json={"text": "x"}).status_code == 400
    assert client.post(url, headers=AUTH, json={"internalAnalysisFlag": True}).status_code == 400
    created = client.post(url, headers=AUTH, json={"text": "Seen before: KB-12",
                                                   "internalAnalysisFlag": True})
    assert created.status_code == 201 and created.json()["ticketId"] == int(ticket_id)
    assert [n["text"] for n in emulation.posted] == ["Seen before: KB-12"]
    listed = client.get(url, headers=AUTH).json()
    assert listed[-1]["internalAnalysisFlag"] is True


def test_scale_adds_well_formed_copies_with_fresh_ids() -> None:
    base, scaled = ConnectWiseEmulation(FIXTURES), ConnectWiseEmulation(FIXTURES, scale=3)
    assert len(scaled.expected()) == 3 * len(base.expected())
    assert len(scaled.ticket_ids()) == len(set(scaled.ticket_ids()))
    assert len(scaled.ticket_ids()) - len(scaled.expected()) == 2  # only the originals are bad
    notes = [n for ns in scaled.expected().values() for n in ns]
    assert len(notes) == len(set(notes))


# -- the real connector against the emulation ------------------------------------------------


def sync(emulation: ConnectWiseEmulation, client: httpx.Client, kind: str) -> tuple[
        dict[str, Ticket], list[str]]:
    config = {**emulation.source_config("http://sandbox.test"), **emulation.secrets()}
    settings = ConnectWiseSettings.model_validate({"name": "cw-sandbox", **config})
    conn = ConnectWise(settings, client=client)
    conn.check()
    tickets: dict[str, Ticket] = {}
    rejects: list[str] = []
    for batch in conn.pull(kind, since=None):
        for item in batch.items:
            assert isinstance(item, Ticket)
            assert item.external_id not in tickets, "a ticket came twice in one run"
            tickets[item.external_id] = item
        rejects += [reject.external_id or "" for reject in batch.rejects]
    return tickets, rejects


@pytest.mark.parametrize("kind", ["ticket", "time_entry"])
def test_a_full_sync_through_the_emulation_matches_what_it_serves(
        shared: ConnectWiseEmulation, reader: TestClient, kind: str) -> None:
    tickets, rejects = sync(shared, reader, kind)
    expected = shared.expected()
    wanted = expected if kind == "ticket" else {
        t: notes for t, notes in expected.items() if any(n.startswith("time-") for n in notes)}
    assert {t: frozenset(n.external_id for n in tickets[t].notes) for t in tickets} == wanted
    manifest = json.loads((FIXTURES / "connectwise" / "manifest.json").read_text("utf-8"))
    if kind == "ticket":
        assert sorted(rejects) == sorted(manifest["malformed_tickets"])


# -- fixtures --------------------------------------------------------------------------------


def test_fixtures_are_built_deterministically_and_filled_to_160(tmp_path: Path) -> None:
    corpus = load_corpus()
    build_fixtures(corpus[:20], tmp_path / "a")
    build_fixtures(corpus[:20], tmp_path / "b")
    for name in ("tickets.json", "all_notes.json", "time_entries.json", "README.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text("utf-8"))
    assert manifest["counts"]["valid_tickets"] == 160
    assert manifest["counts"]["copied_tickets"] == 140
    assert len(manifest["malformed_tickets"]) == 2
    tickets = json.loads((tmp_path / "a" / "tickets.json").read_text("utf-8"))
    assert len({t["id"] for t in tickets}) == len(tickets) == 162
    for ticket_id in manifest["malformed_tickets"]:
        assert ticket_id in (tmp_path / "a" / "README.md").read_text("utf-8")


def test_the_committed_fixtures_match_the_corpus(tmp_path: Path) -> None:
    build_fixtures(load_corpus(), tmp_path)
    for name in ("tickets.json", "all_notes.json", "time_entries.json", "manifest.json"):
        assert (tmp_path / name).read_bytes() == (FIXTURES / "connectwise" / name).read_bytes(), (
            f"fixtures/connectwise/{name} is stale: run python -m connectors.sandbox.build")
