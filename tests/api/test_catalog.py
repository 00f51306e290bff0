"""The catalog repository the resolution routes read: by id, filtered pages, ids of matches."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from store import session_scope
from store.catalog import CatalogFilters, get_entry, list_entries, lookup_visible
from store.usage import record_lookup
from tests.api.conftest import ACME, GLOBEX, Seeded
from tests.factories import BASE_TIME


def test_get_entry_scopes_by_company_and_range(engine: sa.Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        entry = get_entry(session, resolution_id=seeded["globex_vpn"])
        assert entry is not None and entry.company == GLOBEX
        assert entry.source_url == entry.resolution.ticket.url
        assert get_entry(session, resolution_id=seeded["globex_vpn"], company=ACME) is None
        assert get_entry(session, resolution_id=2**31) is None
        assert get_entry(session, resolution_id=0) is None


def test_list_entries_filters_and_counts(engine: sa.Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        page = list_entries(session, filters=CatalogFilters(text="reception spooler"), limit=1)
        assert page.total == 1
        assert [e.id for e in page.items] == [seeded["acme_printer_2"]]
        # Stop words alone match nothing rather than everything.
        assert list_entries(session, filters=CatalogFilters(text="the and of")).total == 0
        after = CatalogFilters(closed_after=BASE_TIME + timedelta(minutes=59))
        before = CatalogFilters(closed_before=BASE_TIME + timedelta(minutes=59))
        assert list_entries(session, filters=after).total == 6
        assert list_entries(session, filters=before).total == 0
        usable = list_entries(session, filters=CatalogFilters(company=ACME, usable_only=True))
        assert usable.total == 4
        assert list_entries(session, limit=10, offset=6).items == []


def test_lookup_visibility(engine: sa.Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        lookup_id = record_lookup(session, channel="api", matches=[], company=GLOBEX)
    with session_scope(engine) as session:
        assert lookup_visible(session, lookup_id=lookup_id)
        assert lookup_visible(session, lookup_id=lookup_id, company=GLOBEX)
        assert not lookup_visible(session, lookup_id=lookup_id, company=ACME)
        assert not lookup_visible(session, lookup_id=2**40)
