"""Redaction: every written form of a secret is replaced; ordinary notes are left alone."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from extract import RedactionCounts, redact_text, redact_ticket
from extract.redact import RedactionSettings
from records import AuthorRole, CustomField, Note, Ticket

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
    ("new pw for admin -> rcWC3f5fM&q#", "rcWC3f5fM&q#", "password"),
    ('admin password "Lobster&534" \u2014 rotate after go-live', "Lobster&534", "password"),
    ("VPN creds sent: user jdoe password Coffee?319", "Coffee?319", "password"),
    ("SQL02 iDRAC root/W3lc0m352@</div>", "W3lc0m352@", "password"),
    ("| PRN-2F | local admin | ZmohM4zo9jC4 |", "ZmohM4zo9jC4", "password"),
    ("Wi-Fi: HarborGuest / falcon-winter-dental89", "falcon-winter-dental89", "password"),
    ("Staff wifi: SUNRISE, passphrase EiJoB5cGwSJuPZ", "EiJoB5cGwSJuPZ", "password"),
    ("aws_secret_access_key = fSEkpZeW8cwEswHUpSlDqcnlmKpSjJt15WZA51qO",
     "fSEkpZeW8cwEswHUpSlDqcnlmKpSjJt15WZA51qO", "api_key"),
    ("TWILIO_AUTH_TOKEN=9a12be777db30f956b27200a30738fc2", "9a12be777db30f956b27200a30738fc2",
     "token"),
    ("Huntress account key lKSJBLkwByYH43vk9RiDePXKx7Su7T7E53Mz",
     "lKSJBLkwByYH43vk9RiDePXKx7Su7T7E53Mz", "api_key"),
    ("storage account harborbackup key1: PAf0bn5De/Dbwphd1c4ZYFCGM6a9EaZ==", "PAf0bn5De",
     "api_key"),
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
    "Credential Manager > Windows Credentials: removed the two stale entries",
    "Credentials: see ITGlue",
    "User says password doesn't work on the new laptop.",
    "Password: user will set at first logon",
    "PW: ********",
    "SSID: HarborGuest / 5GHz only",
    r"Registry key: HKLM\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate\AU set",
    "session id 6f1c0e2a9b8d4c7e5f3a1b2c3d4e5f60 in the vendor logs",
    "Event 4625: Failure Reason: bad password. Status: 0xC000006D",
    "browsed to https://192.168.1.1/admin/status to check uptime",
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


def test_issue4_a_credential_manager_step_is_not_a_password() -> None:
    text = "Credential Manager > Windows Credentials: removed the two stale entries"

    assert redact_text(text) == (text, {})


def test_a_high_entropy_string_needs_a_key_word_in_front() -> None:
    digest = "5f4dcc3b5aa765d61d8327deb882cf995f4dcc3b"

    assert redact_text(f"file hash {digest} flagged by Defender")[1] == {}
    assert digest not in redact_text(f"webhook secret {digest}")[0]


PII_NOTE = ("Karen Ng (karen.ng@harbordental.com, (410) 555-0123) says the printer at "
            "192.168.4.20 / fe80::1c2d:3e4f:5a6b:7c8d is offline again; build 10.0.19045.4170.")


def test_pii_is_kept_by_default_because_technicians_act_on_it() -> None:
    assert redact_text(PII_NOTE) == (PII_NOTE, {})
    assert redact_text(PII_NOTE, pii=RedactionSettings()) == (PII_NOTE, {})


@pytest.mark.parametrize(("flag", "gone", "category", "count"), [
    ("emails", ["karen.ng@harbordental.com"], "email", 1),
    ("phones", ["555-0123"], "phone", 1),
    ("ip_addresses", ["192.168.4.20", "fe80::1c2d"], "ip_address", 2),
])
def test_each_pii_flag_redacts_its_kind_only(flag: str, gone: list[str], category: str,
                                            count: int) -> None:
    redacted, counts = redact_text(PII_NOTE, pii=RedactionSettings(**{flag: True}))

    assert all(value not in redacted for value in gone)
    assert dict(counts) == {category: count}
    assert "10.0.19045.4170" in redacted  # a build number is not an IP address
    assert "Karen Ng" in redacted


def test_pii_and_secrets_together_stay_idempotent() -> None:
    everything = RedactionSettings(emails=True, phones=True, ip_addresses=True)
    once, first = redact_text(PII_NOTE + " pw: Hunter2!", pii=everything)
    twice, second = redact_text(once, pii=everything)

    assert twice == once
    assert first["password"] == 1
    assert not second


def test_order_numbers_and_versions_are_not_phones() -> None:
    text = "order 4000123456789012 shipped, KB5034441, 10.0.22631.3296, ticket 1234567"

    assert redact_text(text, pii=RedactionSettings(phones=True, ip_addresses=True))[0] == text


def test_contact_names_are_removed_from_the_ticket_when_asked(
        ticket: TicketMaker, note: NoteMaker) -> None:
    original = ticket(
        contact="Anita Shah",
        description="Anita Shah reports Outlook prompting. Call Anita on her mobile.",
        notes=[note(1, "Spoke with Anita, reset her profile. Anitra from billing cc'd."),
               note(2, "Thanks, it works!", author="Anita Shah", author_role=AuthorRole.CONTACT)],
    )

    kept, kept_counts = redact_ticket(original)
    redacted, counts = redact_ticket(original, pii=RedactionSettings(contact_names=True))

    assert kept == original and kept_counts.total == 0
    assert "Anita" not in redacted.description and "Shah" not in redacted.description
    assert redacted.notes[0].text == ("Spoke with [REDACTED:contact_name], reset her profile. "
                                      "Anitra from billing cc'd.")
    assert redacted.contact == "[REDACTED:contact_name]"
    assert redacted.notes[1].author == "[REDACTED:contact_name]"
    assert redacted.notes[0].author == "Sam Tech"  # technicians are not PII here
    assert counts["contact_name"] == 5


def test_redaction_settings_are_frozen_and_strict() -> None:
    settings = RedactionSettings(emails=True)

    with pytest.raises(ValidationError):
        settings.emails = False  # type: ignore[misc]
    with pytest.raises(ValidationError):
        RedactionSettings(names=True)  # type: ignore[call-arg]
