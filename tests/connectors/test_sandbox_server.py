"""The sandbox server core over real HTTP: mounting, counting, control endpoints, faults, runner.

A tiny fake emulation stands in for the vendors, so these tests hold whatever vendor modules
exist.
"""

from __future__ import annotations

import socket
import threading
import time
import tomllib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from connectors.sandbox import build, registry, runner
from connectors.sandbox.base import FaultRule
from connectors.sandbox.faults import FaultPlan, parse_fault
from connectors.sandbox.runner import Sandbox, config_snippet, render_sources_toml
from records import ConfigError


class FakeEmulation:
    """A PSA with tickets 1-5, one note each; records what the server asked of it."""

    vendor: ClassVar[str] = "fakepsa"
    prefix: ClassVar[str] = "/fake"

    def __init__(self, fixtures: Path | None = None, *, scale: int = 1) -> None:
        self.titles = {str(i): f"ticket {i}" for i in range(1, 6)}
        self.notes = {str(i): [f"{i}-1"] for i in range(1, 6)}
        self.listing_calls = 0
        self.mutated: list[str] = []
        self.bodies: list[bytes] = []

    def routes(self) -> Sequence[BaseRoute]:
        """A listing, a child endpoint and a POST query."""
        return [
            Route("/tickets", self._list, methods=["GET"]),
            Route("/tickets/{id}/notes", self._notes, methods=["GET"]),
            Route("/tickets/query", self._query, methods=["POST"]),
        ]

    def _list(self, request: Request) -> JSONResponse:  # sync: runs in the thread pool
        self.listing_calls += 1
        return JSONResponse([{"id": key, "title": title} for key, title in self.titles.items()])

    async def _notes(self, request: Request) -> JSONResponse:
        return JSONResponse({"notes": self.notes[request.path_params["id"]]})

    async def _query(self, request: Request) -> JSONResponse:
        self.bodies.append(await request.body())
        return JSONResponse({"items": list(self.titles)})

    def source_config(self, base_url: str) -> dict[str, object]:
        """Points a source at this emulation (`base_url` is the server's root)."""
        return {"base_url": base_url + self.prefix, "company_id": "fake", "lookback": "5m",
                "http": {"max_attempts": 3, "timeout_seconds": 5.0}}

    def secrets(self) -> dict[str, str]:
        """A fake key."""
        return {"api_key": "sandbox-key"}

    def expected(self) -> dict[str, frozenset[str]]:
        """Ticket id -> note ids."""
        return {key: frozenset(notes) for key, notes in self.notes.items()}

    def ticket_ids(self) -> list[str]:
        """Live ticket ids."""
        return list(self.titles)

    def mutate(self, ticket_id: str) -> None:
        """Edit a title."""
        self.mutated.append(ticket_id)
        self.titles[ticket_id] += " (edited)"

    def add_note(self, ticket_id: str, text: str) -> str:
        """Append a note."""
        note_id = f"{ticket_id}-{len(self.notes[ticket_id]) + 1}"
        self.notes[ticket_id].append(note_id)
        return note_id

    def delete(self, ticket_id: str) -> None:
        """Drop a ticket."""
        del self.titles[ticket_id]
        del self.notes[ticket_id]


@pytest.fixture
def fake() -> FakeEmulation:
    return FakeEmulation()


@pytest.fixture
def sandbox(fake: FakeEmulation) -> Iterator[Sandbox]:
    with Sandbox(emulations={"fakepsa": fake}) as running:
        yield running


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=5) as http:
        yield http


def test_emulation_routes_are_served_under_their_prefix(sandbox: Sandbox,
                                                        client: httpx.Client) -> None:
    assert sandbox.base_url("fakepsa") == f"{sandbox.url}/fake"
    response = client.get("/fake/tickets")
    assert response.status_code == 200
    assert [item["id"] for item in response.json()] == ["1", "2", "3", "4", "5"]
    assert client.get("/fake/tickets/2/notes").json() == {"notes": ["2-1"]}
    assert client.get("/tickets").status_code == 404  # not without the prefix


def test_health_names_the_vendors(client: httpx.Client) -> None:
    assert client.get("/_sandbox/health").json() == {"status": "ok",
                                                     "vendors": {"fakepsa": "/fake"}}


def test_requests_are_counted_per_vendor_endpoint_and_status(sandbox: Sandbox,
                                                             client: httpx.Client) -> None:
    client.get("/fake/tickets")
    client.get("/fake/tickets/1/notes")
    client.get("/fake/tickets/2/notes")
    client.get("/fake/nothing-here")
    client.get("/_sandbox/health")  # control traffic is not vendor traffic

    stats = client.get("/_sandbox/stats").json()
    assert stats["requests"] == {"fakepsa": 4}
    assert stats["requests_total"] == 4
    assert stats["endpoints"]["fakepsa"] == {
        "GET /tickets": 1, "GET /tickets/{id}/notes": 2, "GET /nothing-here": 1}
    assert stats["statuses"]["fakepsa"] == {"200": 3, "404": 1}
    assert sandbox.stats()["requests"] == {"fakepsa": 4}

    assert client.delete("/_sandbox/stats").status_code == 200
    assert client.get("/_sandbox/stats").json()["requests"] == {}


def test_a_429_answers_with_retry_after_without_calling_the_emulation(
        sandbox: Sandbox, fake: FakeEmulation, client: httpx.Client) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after="7", path="/tickets"))

    limited = client.get("/fake/tickets")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["status"] == 429
    assert fake.listing_calls == 0

    assert client.get("/fake/tickets").status_code == 200  # times=1: once only
    assert fake.listing_calls == 1
    assert sandbox.stats()["faults_fired"] == {"status": 1}
    assert sandbox.stats()["statuses"]["fakepsa"] == {"429": 1, "200": 1}


def test_retry_after_may_be_an_http_date(sandbox: Sandbox, client: httpx.Client) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=when))
    assert client.get("/fake/tickets").headers["Retry-After"] == when


def test_5xx_faults_follow_after_and_times(sandbox: Sandbox, fake: FakeEmulation,
                                           client: httpx.Client) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=500, path="/notes", after=1, times=2))

    statuses = [client.get(f"/fake/tickets/{i}/notes").status_code for i in range(1, 5)]
    assert statuses == [200, 500, 500, 200]
    assert client.get("/fake/tickets").status_code == 200  # other paths are untouched
    failed = client.get("/fake/tickets/1/notes")
    assert failed.status_code == 200
    [rule] = sandbox.faults.snapshot()
    assert (rule.seen, rule.fired) == (5, 2)


def test_every_nth_request_fails_without_limit(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=503, every=2, times=0))
    statuses = [client.get("/fake/tickets").status_code for _ in range(6)]
    assert statuses == [200, 503, 200, 503, 200, 503]


def test_a_fault_on_a_post_leaves_the_connection_usable(sandbox: Sandbox, fake: FakeEmulation,
                                                        client: httpx.Client) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=502, path="/query"))
    body = {"filter": [{"op": "gt", "field": "id", "value": 0}], "pad": "x" * 200_000}
    assert client.post("/fake/tickets/query", json=body).status_code == 502
    assert fake.bodies == []
    assert client.post("/fake/tickets/query", json=body).status_code == 200
    assert len(fake.bodies) == 1


def test_slow_fault_delays_then_answers(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults.add(FaultRule(kind="slow", delay_ms=300, path="/tickets"))
    started = time.monotonic()
    response = client.get("/fake/tickets")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    client.get("/fake/tickets")
    assert time.monotonic() - started < 0.3


def test_mutate_fault_changes_a_middle_ticket_before_the_request_is_served(
        sandbox: Sandbox, fake: FakeEmulation, client: httpx.Client) -> None:
    sandbox.faults.add(FaultRule(kind="mutate", path="/tickets", after=1))

    first = client.get("/fake/tickets").json()
    second = client.get("/fake/tickets").json()
    assert fake.mutated == ["3"]
    assert "edited" not in first[2]["title"]
    assert second[2]["title"] == "ticket 3 (edited)"


def test_mutate_fault_may_name_its_ticket(sandbox: Sandbox, fake: FakeEmulation,
                                          client: httpx.Client) -> None:
    sandbox.faults.add(FaultRule(kind="mutate", ticket_id="5"))
    assert client.get("/fake/tickets/1/notes").status_code == 200
    assert fake.mutated == ["5"]


def test_faults_may_be_limited_to_one_vendor(sandbox: Sandbox, fake: FakeEmulation,
                                             client: httpx.Client) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=500, vendor="othervendor"))
    assert client.get("/fake/tickets").status_code == 200


def test_faults_are_injected_and_cleared_over_http(sandbox: Sandbox,
                                                   client: httpx.Client) -> None:
    created = client.post("/_sandbox/faults", json={
        "kind": "status", "status": 503, "path": "/notes", "times": 0, "vendor": "fakepsa"})
    assert created.status_code == 201
    assert created.json()["fault"]["status"] == 503
    assert client.get("/fake/tickets/1/notes").status_code == 503
    assert client.get("/_sandbox/faults").json()["faults"][0]["fired"] == 1

    assert client.delete("/_sandbox/faults").json() == {"cleared": 1}
    assert client.get("/fake/tickets/1/notes").status_code == 200
    assert client.get("/_sandbox/stats").json()["faults_fired"] == {"status": 1}


def test_retry_after_may_be_sent_as_a_number(client: httpx.Client) -> None:
    created = client.post("/_sandbox/faults", json={"kind": "status", "retry_after": 2})
    assert created.json()["fault"]["retry_after"] == "2"
    assert client.get("/fake/tickets").headers["Retry-After"] == "2"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "status", "statuss": 500}, "statuss"),
        ({"kind": "status", "status": "lots"}, "status"),
        ({"kind": "status", "status": 200}, "status"),
        ({"kind": "explode"}, "kind"),
        ({"path": "/x"}, "kind"),
        ({"kind": "slow", "delay_ms": -5}, "delay_ms"),
        ({"kind": "status", "vendor": "nosuchpsa"}, "vendor"),
        ([1, 2], "(body)"),
    ],
)
def test_a_bad_fault_is_refused_naming_the_field(sandbox: Sandbox, client: httpx.Client,
                                                 body: object, field: str) -> None:
    response = client.post("/_sandbox/faults", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert sandbox.faults.snapshot() == []


def test_a_fault_body_that_is_not_json_is_refused(client: httpx.Client) -> None:
    response = client.post("/_sandbox/faults", content=b"kind=status")
    assert response.status_code == 422


def test_parse_fault_is_the_python_form_of_the_endpoint() -> None:
    rule = parse_fault({"kind": "slow", "delay_ms": 50, "path": "/tickets"})
    assert rule == FaultRule(kind="slow", delay_ms=50, path="/tickets")
    with pytest.raises(ValueError, match="every"):
        parse_fault({"kind": "slow", "every": 0})


def test_control_endpoints_change_the_data(fake: FakeEmulation, client: httpx.Client) -> None:
    assert client.post("/_sandbox/fakepsa/mutate/2").json() == {"mutated": "2"}
    assert fake.titles["2"] == "ticket 2 (edited)"

    added = client.post("/_sandbox/fakepsa/notes/4", json={"text": "rebooted, fixed"})
    assert added.status_code == 201
    assert added.json() == {"ticket_id": "4", "note_id": "4-2"}

    assert client.post("/_sandbox/fakepsa/delete/1").json() == {"deleted": "1"}

    expected = client.get("/_sandbox/fakepsa/expected").json()
    assert expected["vendor"] == "fakepsa"
    assert set(expected["tickets"]) == {"2", "3", "4", "5"}
    assert expected["tickets"]["4"] == ["4-1", "4-2"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/_sandbox/nosuchpsa/mutate/1", 404),
        ("GET", "/_sandbox/nosuchpsa/expected", 404),
        ("POST", "/_sandbox/fakepsa/mutate/99", 404),
        ("POST", "/_sandbox/fakepsa/delete/99", 404),
        ("POST", "/_sandbox/fakepsa/notes/1", 422),
    ],
)
def test_control_endpoints_refuse_what_does_not_exist(client: httpx.Client, method: str,
                                                      path: str, status: int) -> None:
    response = client.request(method, path, json={})
    assert response.status_code == status
    assert "error" in response.json()


def test_sandbox_serves_on_a_free_port_and_stops(fake: FakeEmulation) -> None:
    first = Sandbox(emulations={"fakepsa": fake})
    second = Sandbox(emulations={"fakepsa": FakeEmulation()})
    with first, second:
        assert first.running and second.running
        assert first.port != second.port
        assert first.url.startswith("http://127.0.0.1:")
        with httpx.Client(timeout=5) as http:  # a kept-alive connection must not block stop
            assert http.get(f"{first.url}/_sandbox/health").status_code == 200
            started = time.monotonic()
            first.stop()
            assert time.monotonic() - started < 3
    assert not first.running and not second.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", second.port), 1):
        pass


def test_sandbox_refuses_a_port_in_use(fake: FakeEmulation) -> None:
    with Sandbox(emulations={"fakepsa": fake}) as running, pytest.raises(OSError):
        Sandbox(emulations={"fakepsa": FakeEmulation()}, port=running.port).start()


def test_source_tables_and_secrets_point_at_the_sandbox(sandbox: Sandbox) -> None:
    [table] = sandbox.source_tables()
    assert table["name"] == "fakepsa"
    assert table["kind"] == "fakepsa"
    assert table["base_url"] == sandbox.base_url("fakepsa")
    assert sandbox.secret_env() == {"FIXEDIT_FAKEPSA_API_KEY": "sandbox-key"}


def test_config_snippet_is_valid_toml_with_the_exports(sandbox: Sandbox) -> None:
    snippet = config_snippet(sandbox)
    parsed = tomllib.loads(snippet)
    assert parsed["sources"] == [{
        "name": "fakepsa", "base_url": sandbox.base_url("fakepsa"), "company_id": "fake",
        "lookback": "5m", "kind": "fakepsa", "http": {"max_attempts": 3, "timeout_seconds": 5.0},
    }]
    assert "export FIXEDIT_FAKEPSA_API_KEY=sandbox-key" in snippet


def test_render_sources_toml_quotes_strings_safely() -> None:
    text = render_sources_toml([{"name": 'a"b', "tags": ["x", 'y\\z'], "on": True, "n": None}])
    assert tomllib.loads(text) == {"sources": [{"name": 'a"b', "tags": ["x", "y\\z"],
                                                "on": True}]}


def test_an_unknown_vendor_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="unknown vendor 'zendesk'"):
        registry.emulation_class("zendesk")


def test_a_missing_vendor_module_is_a_config_error_naming_the_vendor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.EMULATIONS, "connectwise",
                        "connectors.sandbox.not_written_yet:Emulation")
    with pytest.raises(ConfigError, match="connectwise emulation is not available"):
        registry.emulation_class("connectwise")
    assert "connectwise" not in registry.available_vendors()


def test_a_missing_class_is_a_config_error_naming_the_vendor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.EMULATIONS, "autotask", "connectors.sandbox.base:NoSuchClass")
    with pytest.raises(ConfigError, match="autotask emulation is not available"):
        registry.emulation_class("autotask")


def test_fault_plan_snapshot_is_a_copy() -> None:
    plan = FaultPlan()
    plan.add(FaultRule(kind="status"))
    [copy] = plan.snapshot()
    copy.fired = 99
    assert plan.snapshot()[0].fired == 0
    assert [rule.kind for rule in plan.firing("v", "/x")] == ["status"]
    assert plan.firing("v", "/x") == []
    assert plan.fired() == {"status": 1}
    assert plan.clear() == 1


def test_build_hands_every_builder_the_corpus(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    fixtures.mkdir()
    source = Path(__file__).resolve().parents[2] / "fixtures" / "tickets.jsonl"
    (fixtures / "tickets.jsonl").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    received: dict[str, tuple[int, Path]] = {}

    def builder_for(vendor: str) -> registry.FixtureBuilder:
        def build_fixtures(tickets: list, folder: Path) -> dict[str, int]:
            received[vendor] = (len(tickets), folder)
            (folder / "tickets.json").write_text("[]", encoding="utf-8")
            return {"tickets": len(tickets)}
        return build_fixtures

    monkeypatch.setattr(build, "fixture_builder", builder_for)
    summary = build.build(["connectwise", "halopsa"], fixtures=fixtures)
    corpus = sum(1 for line in source.read_text(encoding="utf-8").splitlines() if line.strip())
    assert received == {"connectwise": (corpus, fixtures / "connectwise"),
                        "halopsa": (corpus, fixtures / "halopsa")}
    assert summary == {"connectwise": f"{corpus} tickets", "halopsa": f"{corpus} tickets"}


def test_build_names_a_missing_vendor_before_writing_anything(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(registry.FIXTURE_BUILDERS, "autotask",
                        "connectors.sandbox.not_written_yet:build_fixtures")
    assert build.main(["--vendor", "autotask", "--fixtures", str(tmp_path)]) == 2
    assert "autotask fixture builder is not available" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_serve_forever_serves_until_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "emulation_class", lambda vendor: FakeEmulation)
    stop = threading.Event()
    ready: list[Sandbox] = []
    thread = threading.Thread(target=runner.serve_forever, kwargs={
        "vendors": ["fakepsa"], "port": 0, "on_ready": ready.append, "stop": stop})
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not ready and time.monotonic() < deadline:
            time.sleep(0.01)
        [sandbox] = ready
        assert httpx.get(f"{sandbox.url}/fake/tickets", timeout=5).status_code == 200
        assert "[[sources]]" in config_snippet(sandbox)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert not sandbox.running
