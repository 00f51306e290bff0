"""The speed work on redaction changes nothing it redacts.

Redaction gates each rule on words its matches must contain, gates a whole ticket at once, and a
few patterns were rewritten to run in linear time (see extract/redact.py). The reference here is
the rule set as it read before that work, run ungated, text by text: every note of the labelled
set, the examples of test_redact.py and generated texts full of near-misses must come out of
both identical, with identical counts.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extract import pii, redact
from extract.pii import RedactionSettings
from extract.redact import redact_text, redact_ticket
from records import CustomField, Note, Ticket
from tests.extract.test_redact import ORDINARY, SECRETS

DATA = Path(__file__).parent / "data" / "redaction"

# Each pattern fragment as it reads now -> as it read before it was rewritten for speed.
_LABEL_NOW = rf"\b(?:{redact._PW_WORD}|pass){redact._FOR_WHOM}"
REWRITES = {
    r"(?:[^\s\"<]++|<(?![/!A-Za-z]))++": r"(?:[^\s\"<]|<(?![/!A-Za-z]))+",
    r"(?P<value>\d(?<![\d-]\d)(?:[ -]?\d){12,18})(?![\d-])":
        r"(?<![\d-])(?P<value>\d(?:[ -]?\d){12,18})(?![\d-])",
    r"[^\s/\"<]++)(?![^\s<]*?/)": r"[^\s/\"<]+)(?![^\s<]*/)",
    _LABEL_NOW: rf"\b{redact._PW_QUALIFIER}(?:{redact._PW_WORD}|pass){redact._FOR_WHOM}",
}


def _reference_rules() -> list[redact._Rule]:
    """The rules with every rewritten fragment put back as it was."""
    rules = []
    for rule in redact._RULES:
        pattern = rule.pattern.pattern
        for now, before in REWRITES.items():
            pattern = pattern.replace(now, before)
        rules.append(dataclasses.replace(rule, pattern=re.compile(pattern, rule.pattern.flags)))
    return rules


REFERENCE = _reference_rules()


def reference(text: str) -> tuple[str, Counter[str]]:
    """Redaction as it ran before: every rule, ungated, in order."""
    counts: Counter[str] = Counter()
    for rule in REFERENCE:
        text = redact._apply(rule, text, counts)
    return text, counts


def _notes() -> list[str]:
    texts = []
    for name in ("secrets.jsonl", "normal.jsonl"):
        with (DATA / name).open(encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle if line.strip()]
    return texts + [text for text, _, _ in SECRETS] + ORDINARY


NOTES = _notes()

# Pieces of secrets, labels and their look-alikes, including the non-ASCII letters that match
# ASCII ones when case is ignored (dotless i, long s, Kelvin sign, dotted capital I) and the
# ASCII controls that only Unicode's \s matches (see redact._plain).
FRAGMENTS = [
    "pw", "password", "Passwort", "pass", "p/w", "pswd", ":", ": ", " ", "  ", "=", " - ", "->",
    " is ", " was ", " now ", "set to", "key", "api key", "Key1", "token", "secret", "psk",
    "bearer ", "Basic ", "/", " / ", "admin", "root", "sa", "local", "new", "temp", "for jdoe",
    "it's", "use", "the new one is", "creds", "login", "wifi", "Wi-Fi", "SSID", "|", "\n", "\t",
    '"', "'", "<b>", "</b>", "&nbsp;", "<", "Hunter2!", "Welcome123!", "abcd efgh ijkl mnop",
    "4111", "1111", "5555555555554444", "123456", "-", "AB1CD", "AKIA", "IOSFODNN7EXAMPLE",
    "AIza", "sk_live_", "sk-", "SG.", "SK", "ghp_", "a1B2c3D4e5F6g7H8i9J0", "xoxb-", "eyJ",
    "eyJhbGciOiJIUzI1NiJ9", ".", "https://", "user:", "@host", "?", "&", "sig=", "AccountKey=",
    "Password=", ";", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
    "[REDACTED:password]", "reset", "expired", "********", "0xC000006D", "HKLM\\", "9f8e7d6c5b4a",
    "\u0131", "\u017f", "\u212a", "\u0130", "P\u0130N", "\u017fecret", "\u212aey", "\u0661\u0662",
    "\x1c", "pw:\x1f", "\x1d\x1e",
]
LABELS = ["pw", "Password", "new pw for admin", "pass", "passphrase", "api key", "token",
          "client_secret", "key1", "auth token", "psk", "creds: jdoe", "Wi-Fi: Guest", "SSID Net",
          "admin", "root", "| local admin", "set local admin", "password for jdoe", "temp pw",
          "Authorization: Bearer", "AccountKey", "Password"]
SEPARATORS = [": ", "=", " = ", " - ", " -> ", " is ", " was ", "/", " / ", " ", ":</b> ",
              ":&nbsp;", " | ", " to ", " it's ", " \"", " '", "=\"", ": <i>"]
VALUES = ["Hunter2!", "S3cr3t!;", "tR7!vb92Lq", "abcd efgh ijkl mnop", "9f8e7d6c5b4a39281716aa",
          "Zq8~kP2.xY7-wN4_vB6", "reset", "********", "0xC000006D", "W3lc0m352@", "a<b>c",
          "x<3y", "abc</p>", "HKLM\\Soft", "lKSJBLkwByYH43vk9RiDePXKx7Su7T7E53Mz", "p/a/t/h",
          "Welcome1,", "Bluebird#88.", "[REDACTED:password]", "", "Coffee?319\"", "x' y"]
TAILS = ["", " ", "\n", "<b>", "</div>", " |", ", rebooted", "\"", "'", ";", "/x", ")."]
labelled = st.tuples(st.sampled_from(LABELS), st.sampled_from(SEPARATORS),
                     st.sampled_from(VALUES), st.sampled_from(TAILS)).map("".join)
texts = st.lists(st.one_of(st.sampled_from(FRAGMENTS), labelled), max_size=30).map("".join)


@pytest.mark.parametrize("fragment", list(REWRITES))
def test_every_rewrite_is_in_use_and_undone_in_the_reference(fragment: str) -> None:
    assert any(fragment in rule.pattern.pattern for rule in redact._RULES)
    assert not any(fragment in rule.pattern.pattern for rule in REFERENCE)


@pytest.mark.parametrize("text", ["pw: x\x1cy", "\x1fkey: abc", "caf\u00e9 pw: x"])
def test_texts_the_ascii_twins_would_read_otherwise_are_not_plain(text: str) -> None:
    assert not redact._plain(text)


@pytest.mark.parametrize("text", NOTES)
def test_ascii_twins_find_what_the_rules_find_on_plain_notes(text: str) -> None:
    if redact._plain(text):
        for rule in redact._RULES:
            assert rule.plain_pattern is not None
            assert ([m.span() for m in rule.plain_pattern.finditer(text)]
                    == [m.span() for m in rule.pattern.finditer(text)])


@pytest.mark.parametrize("text", NOTES)
def test_gated_redaction_matches_the_reference_on_known_notes(text: str) -> None:
    assert redact_text(text) == reference(text)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_gated_redaction_matches_the_reference_on_generated_text(text: str) -> None:
    assert redact_text(text) == reference(text)


@settings(max_examples=150, deadline=None)
@given(st.lists(texts, min_size=1, max_size=4), texts)
def test_a_ticket_redacts_each_text_as_alone(notes: list[str], field_value: str) -> None:
    """Gating the ticket as a whole must not let a rule skip any of its texts."""
    original = _ticket(notes, field_value)
    redacted, counts = redact_ticket(original)

    expected = [reference(text) for text in notes]
    assert [n.text for n in redacted.notes] == [text for text, _ in expected]
    assert redacted.custom_fields[0].value == reference(field_value)[0]
    total: Counter[str] = Counter()
    for found in [found for _, found in expected] + [reference(field_value)[1]]:
        total.update(found)
    assert dict(counts) == {k: v for k, v in total.items() if v}


def _ticket(notes: list[str], field_value: str) -> Ticket:
    when = datetime(2024, 5, 6, tzinfo=UTC)
    return Ticket(
        source="acme-psa", external_id="T-1", title="Printer offline", description="",
        company="Ledgerline CPAs", status="Closed", created_at=when, updated_at=when,
        notes=[Note(external_id=f"n{i}", text=text, created_at=when)
               for i, text in enumerate(notes)],
        custom_fields=[CustomField(key="udf_notes", label="Notes", value=field_value)])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts)
def test_a_gate_never_refuses_a_text_its_rule_matches(text: str) -> None:
    folded = redact._fold(text)
    allowed = redact._gated(text, folded)
    for index, rule in enumerate(redact._RULES):
        if rule.pattern.search(text) is not None:
            assert allowed >> index & 1, (index, text)


def test_folding_keeps_every_letter_an_ignore_case_match_sees() -> None:
    assert redact._fold("P\u0130N \u017fecret \u212aey pa\u017f\u017fword") == (
        "pin secret key password")
    assert redact_text("\u212aey: Zq8kP2xY7wN4vB6")[1] == reference("\u212aey: Zq8kP2xY7wN4vB6")[1]


def test_a_marker_put_in_by_one_rule_is_seen_by_the_gates_of_the_later_ones() -> None:
    text = "api key: 9f8e7d6c5b4a39281716aa pw: Hunter2!"
    assert redact_text(text) == reference(text)
    assert redact_text(text)[1] == {"api_key": 1, "password": 1}



PII_FRAGMENTS = ["karen.ng@harbordental.com", "@", ".", ":", "::", "fe80::1c2d", "192.168.4.20",
                 "(410) 555-0123", "410.555.0123", "+44 20 7946 0958", "+1", " ", "10.0.19045.4170",
                 "\u0661\u0662\u0663", "-", "x", "[REDACTED:email]", "Karen Ng", "Ng"]


def _pii_reference(text: str, settings: RedactionSettings) -> tuple[str, Counter[str]]:
    """The PII patterns run with no look for their characters first."""
    counts: Counter[str] = Counter()
    for on, pattern, category in ((settings.emails, pii._EMAIL, "email"),
                                  (settings.ip_addresses, pii._IP, "ip_address"),
                                  (settings.phones, pii._PHONE, "phone")):
        if on:
            text, found = pattern.subn(f"[REDACTED:{category}]", text)
            counts[category] += found
    return text, +counts


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PII_FRAGMENTS), max_size=20).map("".join))
def test_pii_gates_change_nothing(text: str) -> None:
    everything = RedactionSettings(emails=True, phones=True, ip_addresses=True)

    assert pii.redact_pii(text, everything) == _pii_reference(text, everything)


@settings(max_examples=300, deadline=None)
@given(st.lists(texts, min_size=1, max_size=4))
def test_ticket_probes_find_every_trigger_word_a_text_holds(notes: list[str]) -> None:
    joined = "\x00".join(notes)
    for haystack, (singles, probes), words in zip(
            (joined, redact._fold(joined)), redact._TICKET_PROBES, redact._TRIGGERS, strict=True):
        found = {word for word, _ in singles if word in haystack}
        for pattern, _, _ in probes:
            found.update(pattern.findall(haystack))
        assert found == {word for word, _ in words if word in haystack}


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["4", "1", "0", "12", " ", "-", "  ", "--", "x", ".",
                                 "\u0661", "4111 1111 1111 1111"]), max_size=40).map("".join))
def test_the_card_gate_passes_every_text_the_card_pattern_matches(text: str) -> None:
    (card,) = [rule for rule in redact._RULES if rule.category == "card_number"]
    assert card.gate is not None
    if card.pattern.search(text):
        assert card.gate(text)
