"""API fixtures: a seeded store (two companies), the app on it, a TestClient and API keys.

Every fixture here sits on the shared `engine` fixture, so each API test runs on SQLite and,
when FIXEDIT_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import select

from fixedit.app import create_app
from fixedit.settings import ApiSettings, Settings
from records import EvidencedText, Outcome
from store import pending_extraction, save_resolution, session_scope, upsert_ticket
from store.keys import create_key
from store.tables import ResolutionRow
from tests.factories import make_resolution, make_ticket

with warnings.catch_warnings():  # starlette asks for httpx2; the tests use httpx on purpose
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

ACME = "Acme Dental"
GLOBEX = "Globex Legal"


@dataclass(frozen=True)
class Seeded:
    """Row ids of the seeded resolutions, by a short name."""

    ids: dict[str, int]

    def __getitem__(self, name: str) -> int:
        return self.ids[name]


def _spec() -> list[tuple[str, str, dict[str, Any]]]:
    """(name, company, resolution overrides) of every seeded resolution."""
    vpn = {"title": "VPN drops every few minutes on FortiClient",
           "problem": EvidencedText(text="FortiClient VPN disconnects every five minutes"),
           "steps": [EvidencedText(text="Raised the DPD timeout on the FortiGate")],
           "symptoms": [], "cause": None, "products": [EvidencedText(text="FortiClient")],
           "category": "network"}
    return [
        ("acme_printer", ACME, {}),
        ("acme_printer_2", ACME, {"title": "Spooler stuck again on the reception printer"}),
        ("acme_vpn", ACME, vpn),
        ("acme_escalated", ACME, {"title": "Printer queue stuck, sent to vendor",
                                  "outcome": Outcome.ESCALATED}),
        ("globex_printer", GLOBEX, {"title": "Print jobs stuck in queue at Globex front desk"}),
        ("globex_vpn", GLOBEX, vpn),
    ]


def seed(engine: sa.Engine) -> Seeded:
    """Store one ticket and its resolution per `_spec` entry; return their resolution row ids."""
    ids: dict[str, int] = {}
    with session_scope(engine) as session:
        for name, company, overrides in _spec():
            # Each ticket describes its own problem: lookups also read a ticket's own words.
            own = {"title": overrides["title"], "description": overrides["problem"].text,
                   "notes": []} if "problem" in overrides else {}
            ticket = make_ticket(company=company, **own)
            upsert_ticket(session, ticket=ticket)
            [item] = [pending for pending in pending_extraction(session,
                                                                extractor_version="test-1")
                      if pending.ticket.external_id == ticket.external_id]
            save_resolution(session, row_id=item.row_id, content_hash=item.content_hash,
                            resolution=make_resolution(ticket=ticket, company=company,
                                                       **overrides))
            ids[name] = session.exec(
                select(ResolutionRow.id).where(ResolutionRow.ticket_id == item.row_id)).one()
    return Seeded(ids=ids)


@pytest.fixture
def seeded(engine: sa.Engine) -> Seeded:
    """The store holding the seeded resolutions of two companies."""
    return seed(engine)


def make_app(engine: sa.Engine, **api: Any) -> FastAPI:
    """The real app on `engine`, with [api] settings overridden by `api`."""
    # Refresh before every lookup and check the key in the store on every request, so a test
    # sees what it just stored (or revoked).
    settings = Settings(database_url=str(engine.url),
                        api=ApiSettings(**{"refresh_seconds": 0, "key_cache_seconds": 0, **api}))
    return create_app(settings, engine=engine)


@pytest.fixture
def app(engine: sa.Engine, seeded: Seeded) -> FastAPI:
    """The app on the seeded store, with a rate limit no ordinary test reaches."""
    return make_app(engine, rate_limit_per_minute=100_000, rate_limit_burst=10_000)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A TestClient on the app; server errors come back as responses, not exceptions."""
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


class Keys:
    """API keys made in the test store, as ready-to-send headers."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def make(self, scope: str, company: str | None = None) -> dict[str, str]:
        """Headers carrying a new key with `scope` (limited to `company` when given)."""
        with session_scope(self._engine) as session:
            created = create_key(session, scope=scope, company=company, name=f"test {scope}")
        return {"Authorization": f"Bearer {created.secret}"}


@pytest.fixture
def keys(engine: sa.Engine) -> Keys:
    """A factory of API keys on the test store."""
    return Keys(engine)
