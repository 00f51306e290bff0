"""Redaction: every written form of a secret is replaced; ordinary notes are left alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from extract import RedactionCounts, redact_text, redact_ticket
from records import CustomField, Note, Ticket

TicketMaker = Callable[..., Ticket]
NoteMaker = Callable[..., Note]

# (note text, the secret that must disappear, its category)
SECRETS = [
    ("pw: Hunter2!, rebooted after", "Hunter2!", "password"),
    ("pwd=abc123xyz", "abc123xyz", "password"),
    ("user's password is Welcome123!", "Welcome123!", "password"),
    ("pass: letmein22", "letmein22", "password"),
    ("gave her a temp password Welcome123! over the phone", "Welcome123!", "password"),
    ("set local admin to Summer2024! on the kiosk", "Summer2024!", "password"),
    ("reset pw to Spring#2024 and told user", "Spring#2024", "password"),
    ("new password - Tr0ub4dor&3", "Tr0ub4dor&3", "password"),
    ("password for jdoe is Blue42sky", "Blue42sky", "password"),
    ("Do you need my password? It's Bluebird#88 if you need it.", "Bluebird#88", "password"),
    ("created app pw for scanner acct: qkvz mtrp wnxa hdle", "mtrp wnxa", "password"),
    ("staff wifi psk is tR7!vb92Lq", "tR7!vb92Lq", "password"),
    ('{"password": "correct horse battery"}', "correct horse", "password"),
    ("Password:</b> Welcome1</p>", "Welcome1", "password"),
    ("creds: jdoe / Welcome1!", "Welcome1!", "password"),
    ("Server=db01;Database=crm;User Id=sa;Password=S3cr3t!;", "S3cr3t!", "password"),
    ("git clone https://admin:hunter22@git.example.com/repo", "hunter22", "password"),
    ("key AKIAIOSFODNN7EXAMPLE in the script", "AKIAIOSFODNN7EXAMPLE", "api_key"),
    ("api key: 9f8e7d6c5b4a39281716aa", "9f8e7d6c5b4a39281716aa", "api_key"),
    ("client_secret=Zq8~kP2.xY7-wN4_vB6", "Zq8~kP2.xY7-wN4_vB6", "api_key"),
    ("token ghp_" + "a1B2" * 9 + " in the runner", "ghp_" + "a1B2" * 9, "token"),
    ("slack bot xoxb-12345-67890-abcdefghij", "xoxb-12345-67890-abcdefghij", "token"),
    ("Authorization: Bearer abcdefghijklmnop1234", "abcdefghijklmnop1234", "token"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9",
     "eyJhbGciOiJIUzI1NiJ9", "token"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----",
     "MIIEowIBAAKCAQEA7", "private_key"),
    ("paid with 4111 1111 1111 1111 exp 12/26", "4111 1111 1111 1111", "card_number"),
    ("amex 378282246310005", "378282246310005", "card_number"),
    ("bitlocker key 123456-234567-345678-456789-567890-678901-789012-890123",
     "123456-234567", "recovery_key"),
]

ORDINARY = [
    "reset password for user",
    "user forgot pw, reset it in ADUC",
    "password reset: done",
    "her password is expired",
    "the password was wrong",
    "token: expired",
    "installed KB5034441 and rebooted",
    "see ticket #1234567 and event id 4625",
    "call back on (410) 555-0123",
    "card 4111 1111 1111 1112 was declined",  # fails the Luhn check
    "reset pw to default",
    "pw reset done, it's working now",
    "new password for the service account set in the vault",
    "order 1234567890123 shipped",  # 13 digits, not a card prefix
]


@pytest.mark.parametrize(("text", "secret", "category"), SECRETS)
def test_each_written_form_of_a_secret_is_redacted(text: str, secret: str, category: str) -> None:
    redacted, counts = redact_text(text)

    assert secret not in redacted
    assert f"[REDACTED:{category}]" in redacted
    assert counts[category] >= 1


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_notes_are_not_redacted(text: str) -> None:
    redacted, counts = redact_text(text)

    assert redacted == text
    assert not counts


def test_the_label_and_the_rest_of_the_note_survive() -> None:
    redacted, _ = redact_text("pw: Hunter2!, rebooted after")

    assert redacted == "pw: [REDACTED:password], rebooted after"


def test_redaction_is_idempotent() -> None:
    once, first = redact_text("pw: Hunter2! and api key: 9f8e7d6c5b4a39281716aa")
    twice, second = redact_text(once)

    assert twice == once
    assert sum(first.values()) == 2
    assert not second


def test_luhn_decides_whether_a_long_number_is_a_card() -> None:
    assert redact_text("5555555555554444")[1]["card_number"] == 1
    assert not redact_text("5555555555554445")[1]


def test_redact_ticket_returns_a_new_ticket_and_counts_by_category(
        ticket: TicketMaker, note: NoteMaker) -> None:
    original = ticket(
        title="VPN for new hire (temp pw Welcome123!)",
        description="Please set her up. pw: Hunter2!",
        notes=[note(1, "created acct, api key: 9f8e7d6c5b4a39281716aa"),
               note(2, "rebooted, works now")],
        custom_fields=[CustomField(key="udf_local_admin_password", label="Local admin password",
                                   value="Adm1n!2024"),
                       CustomField(key="udf_billable", label="Billable", value="No")],
    )

    redacted, counts = redact_ticket(original)

    assert redacted is not original
    assert "Welcome123!" not in redacted.title
    assert "Hunter2!" not in redacted.description
    assert "9f8e7d6c5b4a39281716aa" not in redacted.notes[0].text
    assert redacted.notes[1] == original.notes[1]
    assert redacted.custom_fields[0].value == "[REDACTED:password]"
    assert redacted.custom_fields[1].value == "No"
    assert dict(counts) == {"api_key": 1, "password": 3}
    assert counts.total == 4
    assert "Hunter2!" in original.description  # the input is untouched


def test_a_ticket_without_secrets_comes_back_as_is(ticket: TicketMaker, note: NoteMaker) -> None:
    original = ticket(notes=[note(1, "reset password for user, confirmed she can log in")])

    redacted, counts = redact_ticket(original)

    assert redacted == original
    assert counts.total == 0
    assert counts == {}


def test_redaction_counts_is_a_read_only_mapping() -> None:
    counts = RedactionCounts({"password": 2, "api_key": 1, "token": 0})

    assert counts == {"password": 2, "api_key": 1}
    assert counts.total == 3
    assert sorted(counts) == ["api_key", "password"]
    with pytest.raises(AttributeError):
        counts.counts = {}  # type: ignore[misc]
