"""CRM deals through the sync pipeline on a real database: no secret reaches the store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

import store
from extract import Extractor
from extract.pii import RedactionSettings
from fixedit.pipeline import sync_source
from records import AuthorRole, Batch, Contact, Cursor, Deal
from tests.factories import make_deal, make_note

SECRETS = ("Xk9#pq2!vL", "Hunter2!", "9f8e7d6c5b4a39281716aa", "Summer2024!")


class Crm:
    """A CRM connector that hands over the same deals every pull (no CRM connector ships yet)."""

    name = "crm"
    kinds = frozenset({"deal"})

    def __init__(self, deals: list[Deal]) -> None:
        self.deals = deals

    def check(self) -> None:
        pass

    def pull(self, kind: str, *, since: Cursor | None) -> Iterator[Batch]:
        assert kind == "deal"
        yield Batch(kind="deal", items=list(self.deals), cursor=Cursor(value="2024-03-05"))


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def _planted_deal() -> Deal:
    return make_deal(
        external_id="D-7",
        name="Harbor Dental VPN (temp pw Summer2024!)",
        description="Portal for the quote - pw: Hunter2!",
        contacts=[Contact(external_id="c1", name="Karen Ng", email="karen.ng@harbordental.com",
                          title="Office manager")],
        notes=[make_note(external_id="D-7-1", text="Call: their VPN pw is Xk9#pq2!vL, MFA next"),
               make_note(external_id="D-7-2", text="E-mail: api key: 9f8e7d6c5b4a39281716aa",
                         author="Karen Ng", author_role=AuthorRole.CONTACT)],
    )


def _raw_dump(engine: Engine) -> str:
    with engine.connect() as connection:
        return "\n".join(
            str(row)
            for table in ("deals", "notes", "quarantine", "sync_runs")
            for row in connection.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608
        )


def test_a_deals_secrets_are_redacted_before_it_is_stored(engine: Engine,
                                                          extractor: Extractor) -> None:
    deal = _planted_deal()
    assert all(secret in deal.model_dump_json() for secret in SECRETS)

    report = sync_source(engine, source="crm", connector=Crm([deal]), kind="deal",
                         extractor=extractor)

    assert report.status == "succeeded"
    assert report.counts["created"] == 1
    assert report.redacted == 4
    raw = _raw_dump(engine)
    assert "Call: their VPN pw is" in raw  # the deal and its notes were stored
    for secret in SECRETS:
        assert secret not in raw
    with store.session_scope(engine) as session:
        stored = store.get_deal(session, source="crm", external_id="D-7")
    assert stored is not None
    assert stored.notes[0].text == "Call: their VPN pw is [REDACTED:password], MFA next"
    assert stored.contacts == deal.contacts  # PII is kept unless the settings ask
    # Redaction is deterministic: the same deal again is unchanged, not rewritten.
    again = sync_source(engine, source="crm", connector=Crm([deal]), kind="deal",
                        extractor=extractor)
    assert again.counts["unchanged"] == 1 and again.counts["updated"] == 0


def test_a_deals_pii_is_redacted_when_the_settings_ask(engine: Engine,
                                                       extractor: Extractor) -> None:
    report = sync_source(engine, source="crm", connector=Crm([_planted_deal()]), kind="deal",
                         extractor=extractor,
                         redaction=RedactionSettings(emails=True, contact_names=True))

    raw = _raw_dump(engine)
    for gone in (*SECRETS, "karen.ng@harbordental.com", "Karen Ng"):
        assert gone not in raw
    assert report.redacted == 4 + 1 + 2  # secrets, the e-mail, the contact's name and author
