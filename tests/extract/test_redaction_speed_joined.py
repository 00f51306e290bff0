"""A ticket's texts are searched joined (extract.redact._redact_texts) and come out as each
text redacted alone by the rules as they read before the speed work (test_redact_gates'
reference): on the sandbox corpus, on the labelled set, and on generated texts made of the
pieces that sit right at a join (line breaks, a value at a text's end, a slash or a key's
end in the next text, texts with no ASCII or with the controls only Unicode's \\s matches).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import redact
from extract.redact import redact_ticket
from tests.extract.test_redact_gates import FRAGMENTS, reference, texts

DATA = Path(__file__).parent / "data" / "redaction"


def _as_alone(notes: list[str]) -> tuple[list[str], Counter[str]]:
    """Each text redacted on its own by the reference rules, and the counts over all."""
    total: Counter[str] = Counter()
    redacted = []
    for text in notes:
        text, found = reference(text)
        redacted.append(text)
        total.update(found)
    return redacted, total


def _joined(notes: list[str]) -> tuple[list[str], Counter[str]]:
    redacted = list(notes)
    counts = redact._redact_texts(redacted) or Counter()
    return redacted, counts


def _labelled_notes() -> list[str]:
    notes = []
    for name in ("secrets.jsonl", "normal.jsonl"):
        with (DATA / name).open(encoding="utf-8") as handle:
            notes += [json.loads(line)["text"] for line in handle if line.strip()]
    return notes


def test_the_sandbox_tickets_come_out_as_their_texts_alone() -> None:
    for ticket in load_corpus():
        notes = [ticket.title, ticket.description, *(n.text for n in ticket.notes),
                 *(f.value for f in ticket.custom_fields if f.value is not None)]
        assert _joined(notes) == _as_alone(notes), ticket.external_id


@pytest.mark.parametrize("size", [2, 5, 17])
def test_the_labelled_notes_joined_in_groups_come_out_as_alone(size: int) -> None:
    notes = _labelled_notes()
    for start in range(0, len(notes), size):
        group = notes[start:start + size]
        assert _joined(group) == _as_alone(group)


# Pieces that end a text or start the next where a pattern could read past the join.
EDGES = [
    "Password=S3cr3t!", "pwd = abc123xyz ", "Server=db;Password=x", "root/W3lc0m352@", "/x",
    "/", "admin/admin/admin", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow", "abc",
    "-----END RSA PRIVATE KEY-----", "4111 1111", " 1111 1111", "123456-234567-345678",
    "-456789-567890-678901-789012-890123", "AKIAIOSFODNN7EXAMPLE", "pw:", " Hunter2!", "pw",
    "\n", "\n\n", "", " ", "api key", ": 9f8e7d6c5b4a39281716aa", "Wi-Fi: Guest /", " falcon89x",
    "| admin |", " Zmoh4zo9jC4 |", "creds: jdoe /", "caf\u00e9 pw: x9y8z7w6", "pw:\x1fHunter2!",
    "\u212aey: Zq8kP2xY7wN4vB6", "new one is", "It's Bluebird#88", "key", "<", "x<3y",
]
edge_texts = st.lists(st.one_of(st.sampled_from(EDGES), st.sampled_from(FRAGMENTS)),
                      max_size=6).map("".join)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(edge_texts, texts), min_size=1, max_size=6))
def test_texts_joined_come_out_as_each_alone(notes: list[str]) -> None:
    assert _joined(notes) == _as_alone(notes)


def test_a_ticket_full_of_start_words_is_still_searched_whole() -> None:
    """Past the start places a joined ticket may hold, the search scans; nothing is lost."""
    notes = ["pw " * 400, "set " * 300 + "reset pw to Spring#2024", "pw: Hunter2!"]

    assert _joined(notes) == _as_alone(notes)
    assert _joined(notes)[1]["password"] == 2


def test_texts_without_a_secret_stay_the_same_objects() -> None:
    notes = ["reset password for user", "pw: Hunter2!", "rebooted, works now"]
    redacted, _ = _joined(notes)

    assert redacted[0] is notes[0] and redacted[2] is notes[2]
    assert redacted[1] != notes[1]


def test_a_ticket_with_no_secret_comes_back_itself() -> None:
    ticket = next(t for t in load_corpus() if not redact_ticket(t)[1])

    assert redact_ticket(ticket)[0] is ticket


@pytest.mark.parametrize("fragment", ["pw: Hunter2!", *FRAGMENTS[:40]])
def test_a_text_redacts_as_the_reference_whatever_its_neighbours(fragment: str) -> None:
    notes = ["user forgot pw", fragment, "pass", fragment + "\n" + fragment]
    assert _joined(notes) == _as_alone(notes)


SHARED_GATE_PIECES = ["-", "--", "123456", "12345", "1234567", "AB1CD", "ab1cd", "A", "AKIA",
                      "ASIA", "KIA", "AIza", "Iza", "AIDA", "x", " ", "\u0661" * 6, "Z9",
                      "123456-234567-345678-456789-567890-678901-789012-890123",
                      "AB1CD-EF2GH-IJ3KL-MN4OP-QR5ST", "AKIAIOSFODNN7EXAMPLE",
                      "AIza" + "B" * 35]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(SHARED_GATE_PIECES), max_size=20).map("".join))
def test_a_shared_gate_passes_every_text_its_rules_can_match(text: str) -> None:
    for rules, gate in redact._SHARED_GATES:
        assert rules
        for index, rule in enumerate(redact._RULES):
            if rules >> index & 1:
                assert rule.gate is not None
                if rule.gate(text) or rule.pattern.search(text):
                    assert gate(text), (index, text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(
    ["a", "K", "s", "I", "\u0130", "\u0131", "\u017f", "\u212a", "\u00e9", "\u03a3", "\u1e9e",
     "\u0661", " ", "\n", "\x1c"]), max_size=30))
def test_fold_is_the_translated_text_lower_cased_and_keeps_every_place(text: str) -> None:
    folded = redact._fold(text)

    assert folded == text.translate(redact._FOLD).lower()
    assert len(folded) == len(text)


def _substituted(rule: redact._Rule, text: str) -> tuple[str, Counter[str]]:
    """`rule` applied as pattern.sub with a function, the way _replace read before."""
    counts: Counter[str] = Counter()

    def substitute(match: re.Match[str]) -> str:
        name = next(name for name in rule.groups if match.group(name) is not None)
        value = match.group(name)
        if "[REDACTED:" in value or (rule.accept is not None and not rule.accept(value)):
            return match.group()
        secret = redact._clip(value) if name == "value" else value
        start = match.start(name) - match.start()
        whole = match.group()
        counts[rule.category] += 1
        return whole[:start] + redact.marker(rule.category) + whole[start + len(secret):]

    return rule.pattern.sub(substitute, text), counts


def _replaced(rule: redact._Rule, text: str) -> tuple[str, Counter[str]]:
    counts: Counter[str] = Counter()
    first = rule.pattern.search(text)
    if first is None:
        return text, counts
    return redact._replace(rule, rule.pattern, text, first.start(), counts), counts


@pytest.mark.parametrize("text", _labelled_notes()[::3] + EDGES)
def test_replace_is_the_substitution_it_stands_for_on_known_notes(text: str) -> None:
    for rule in redact._RULES:
        assert _replaced(rule, text) == _substituted(rule, text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(edge_texts, texts))
def test_replace_is_the_substitution_it_stands_for_on_generated_text(text: str) -> None:
    for rule in redact._RULES:
        assert _replaced(rule, text) == _substituted(rule, text)


# A note long enough that the ticket is gated by `_ticket_gate`'s probes (see _PROBED_LENGTH).
FILLER = "rebooted the printer and checked the queue. " * 20


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(edge_texts, texts), min_size=1, max_size=6))
def test_long_tickets_gated_by_the_probes_come_out_as_each_alone(notes: list[str]) -> None:
    notes = [FILLER, *notes]
    assert len("\n".join(notes)) >= redact._PROBED_LENGTH
    assert _joined(notes) == _as_alone(notes)
