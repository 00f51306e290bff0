"""Deal redaction: secrets out of a CRM deal's texts, notes and contacts; PII only when asked."""

from __future__ import annotations

from typing import Any

import pytest

from extract import RedactionCounts, redact_deal, redact_ticket
from extract.redact import RedactionSettings
from records import AuthorRole, Contact, Deal
from tests.factories import make_deal, make_note, make_ticket

SECRET = "Xk9#pq2!vL"
EVERYTHING = RedactionSettings(emails=True, phones=True, ip_addresses=True, contact_names=True)


def _contact(**fields: Any) -> Contact:
    values: dict[str, Any] = {"external_id": "c1", "name": "Karen Ng",
                              "email": "karen.ng@harbordental.com", "title": "Office manager",
                              "company": "Harbor Dental"}
    values.update(fields)
    return Contact(**values)


def _secret_in(deal: Deal) -> bool:
    return SECRET in deal.model_dump_json()


@pytest.mark.parametrize("where", ["name", "description", "note", "second note", "contact name",
                                   "contact title", "contact company", "contact email"])
def test_a_secret_is_redacted_from_each_text_of_a_deal(where: str) -> None:
    text = f"their VPN pw is {SECRET}"
    fields: dict[str, Any] = {"contacts": [_contact()],
                              "notes": [make_note(text="Intro call, budget approved."),
                                        make_note(text="Sent the proposal.")]}
    if where in ("name", "description"):
        fields[where] = text
    elif where == "note":
        fields["notes"][0] = make_note(text=text)
    elif where == "second note":
        fields["notes"][1] = make_note(text=text)
    else:
        fields["contacts"] = [_contact(**{where.removeprefix("contact "): text})]
    original = make_deal(**fields)
    assert _secret_in(original)

    redacted, counts = redact_deal(original)

    assert not _secret_in(redacted)
    assert "their VPN pw is [REDACTED:password]" in redacted.model_dump_json()
    assert dict(counts) == {"password": 1}
    assert _secret_in(original)  # the input is untouched


def test_redact_deal_returns_a_new_deal_and_counts_by_category() -> None:
    original = make_deal(
        name="Acme VPN rollout (temp pw Welcome123!)",
        description="Portal login for the quote - pw: Hunter2!",
        contacts=[_contact()],
        notes=[make_note(text="Meeting: their api key: 9f8e7d6c5b4a39281716aa for the RMM"),
               make_note(text="Call: wants a quote for 40 seats.")],
    )

    redacted, counts = redact_deal(original)

    assert redacted is not original
    assert "Welcome123!" not in redacted.name and redacted.name.startswith("Acme VPN rollout")
    assert redacted.description == "Portal login for the quote - pw: [REDACTED:password]"
    assert redacted.notes[0].text == "Meeting: their api key: [REDACTED:api_key] for the RMM"
    assert redacted.notes[1] is original.notes[1]
    assert redacted.contacts == original.contacts  # no secret and no PII asked for: kept
    assert dict(counts) == {"api_key": 1, "password": 2}
    assert counts.total == 3
    # Everything else about the deal is kept.
    assert redacted.model_dump(exclude={"name", "description", "notes"}) == original.model_dump(
        exclude={"name", "description", "notes"})


def test_a_deal_without_secrets_comes_back_as_is() -> None:
    original = make_deal(contacts=[_contact()],
                         notes=[make_note(text="Reset password policy discussed; MFA next.")])

    for pii in (None, RedactionSettings(), EVERYTHING.model_copy(update={"contact_names": False,
                                                                           "emails": False})):
        redacted, counts = redact_deal(original, pii=pii)
        assert redacted is original
        assert counts == {} and counts.total == 0 and isinstance(counts, RedactionCounts)


def test_pii_is_kept_by_default_and_the_contact_record_too() -> None:
    original = make_deal(
        description="Karen Ng (karen.ng@harbordental.com, (410) 555-0123), firewall 192.168.4.1",
        contacts=[_contact()])

    redacted, counts = redact_deal(original)

    assert redacted is original and counts.total == 0


@pytest.mark.parametrize(("flag", "gone", "category"), [
    ("emails", "karen.ng@harbordental.com", "email"),
    ("phones", "555-0123", "phone"),
    ("ip_addresses", "192.168.4.1", "ip_address"),
])
def test_each_pii_flag_redacts_its_kind_from_the_deal_texts(flag: str, gone: str,
                                                           category: str) -> None:
    text = "Karen Ng (karen.ng@harbordental.com, (410) 555-0123), firewall 192.168.4.1"
    original = make_deal(name=text, description=text, notes=[make_note(text=text)])

    redacted, counts = redact_deal(original, pii=RedactionSettings(**{flag: True}))

    for value in (redacted.name, redacted.description, redacted.notes[0].text):
        assert gone not in value and f"[REDACTED:{category}]" in value
        assert "Karen Ng" in value
    assert dict(counts) == {category: 3}


def test_a_contacts_email_is_replaced_whole_only_when_emails_are_redacted() -> None:
    original = make_deal(contacts=[_contact(), _contact(external_id="c2", name="Raj Patel",
                                                        email=None, title="(410) 555-0199")])

    kept, _ = redact_deal(original, pii=RedactionSettings(phones=True, ip_addresses=True))
    redacted, counts = redact_deal(original, pii=RedactionSettings(emails=True))

    assert kept.contacts[0] == original.contacts[0]
    assert kept.contacts[1].title == "[REDACTED:phone]"  # a contact's typed-in title is text
    assert redacted.contacts[0] == _contact(email="[REDACTED:email]")
    assert redacted.contacts[1] is original.contacts[1]  # no e-mail: nothing to replace
    assert dict(counts) == {"email": 1}


def test_contact_names_are_removed_from_the_deal_when_asked() -> None:
    original = make_deal(
        name="Harbor Dental - Karen Ng renewal",
        description="Karen wants a quote; Raj Patel signs.",
        contacts=[_contact(), _contact(external_id="c2", name="Raj Patel", email=None)],
        notes=[make_note(text="Spoke with Karen. Karena from billing cc'd."),
               make_note(text="Thanks, send it over.", author="Karen Ng",
                         author_role=AuthorRole.CONTACT)],
    )

    kept, kept_counts = redact_deal(original)
    redacted, counts = redact_deal(original, pii=RedactionSettings(contact_names=True))

    assert kept is original and kept_counts.total == 0
    assert redacted.name == "Harbor Dental - [REDACTED:contact_name] renewal"
    assert redacted.description == ("[REDACTED:contact_name] wants a quote; "
                                    "[REDACTED:contact_name] signs.")
    assert redacted.notes[0].text == ("Spoke with [REDACTED:contact_name]. "
                                      "Karena from billing cc'd.")
    assert redacted.notes[0].author == "Sam Tech"  # the MSP's own people are not PII here
    assert redacted.notes[1].author == "[REDACTED:contact_name]"
    assert [c.name for c in redacted.contacts] == ["[REDACTED:contact_name]"] * 2
    assert redacted.contacts[0].email == "karen.ng@harbordental.com"  # emails not asked for
    assert redacted.contacts[0].title == "Office manager"
    assert redacted.owner == original.owner
    # name 1, description 2, note 1, the contact-written note's author 1, two contact records
    assert counts["contact_name"] == 7


def test_deal_redaction_is_idempotent() -> None:
    original = make_deal(
        name="Karen Ng: VPN pw: Hunter2!",
        contacts=[_contact()],
        notes=[make_note(text=f"their VPN pw is {SECRET}, call (410) 555-0123"),
               make_note(text="ok", author="Karen Ng", author_role=AuthorRole.CONTACT)])

    for pii in (None, EVERYTHING):
        once, first = redact_deal(original, pii=pii)
        twice, second = redact_deal(once, pii=pii)
        assert first["password"] == 2
        assert twice is once and second.total == 0


def test_a_deal_and_a_ticket_with_the_same_text_are_redacted_alike() -> None:
    text = f"their VPN pw is {SECRET}; Karen Ng at karen.ng@harbordental.com"
    ticket, ticket_counts = redact_ticket(make_ticket(description=text), pii=EVERYTHING)
    deal, deal_counts = redact_deal(make_deal(description=text, contacts=[_contact()]),
                                    pii=EVERYTHING)

    assert deal.description == ticket.description.replace("Karen Ng", "[REDACTED:contact_name]")
    assert deal_counts["password"] == ticket_counts["password"] == 1
