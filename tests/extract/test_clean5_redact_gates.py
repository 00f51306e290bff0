"""Two redaction gates rewritten for speed answer as the forms they replaced (kept here):

- the "root/x" rule's gate now searches the folded text case-sensitively; it passes exactly the
  texts its ignore-case search of the raw text passed;
- the gate shared by the recovery- and license-key rules (`_SHARED_GATES`) is one look-ahead
  that passes every text either of the old alternatives passed (it is a necessary condition,
  the rules' own gates come after it), and, on the real texts, the same ones.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import redact
from tests.extract.test_redact_gates import NOTES, texts

OLD_ACCOUNT_GATE = re.compile(r"/(?:(?<=root/)|(?<=admin/)|(?<=administrator/)|(?<=sa/)"
                              r"|(?<=ubnt/)|(?<=pi/))", re.IGNORECASE)
OLD_KEY_GATE = re.compile(r"-(?=\d{6}-|[A-Z0-9]{5}-)")

_ACCOUNT_RULE = next(rule for rule in redact._RULES if "ubnt" in rule.pattern.pattern)
_KEY_GATE = next(gate for rules, gate in redact._SHARED_GATES
                 if rules == redact._rules_gated_by(redact._RECOVERY_KEY, redact._LICENSE_KEY))


def _real_texts() -> list[str]:
    found = list(NOTES)
    for ticket in load_corpus():
        found += [ticket.title, ticket.description or "", *(n.text for n in ticket.notes)]
    return found


def _account_gate_passes(text: str) -> bool:
    """Whether the ticket gate lets the rule through on `text`, given its trigger ("/")."""
    bit = 1 << redact._RULES.index(_ACCOUNT_RULE)
    return redact._passing(bit, text, redact._fold(text)) == bit


def test_real_texts_pass_both_gates_as_before() -> None:
    found = _real_texts()
    assert any(OLD_ACCOUNT_GATE.search(text) for text in found)
    assert any(OLD_KEY_GATE.search(text) for text in found)
    for text in found:
        assert _account_gate_passes(text) == (OLD_ACCOUNT_GATE.search(text) is not None), text
        assert _KEY_GATE(text) == (OLD_KEY_GATE.search(text) is not None), text


_ACCOUNT_BITS = st.text(alphabet="rootadminsubnpiROOTADMIN/ \u0130\u0131\u017f\u212a-", max_size=30)
_KEY_BITS = st.text(alphabet="0123456789ABZaz- \u0663", max_size=30)


@settings(max_examples=500, deadline=None)
@given(st.one_of(texts, _ACCOUNT_BITS))
def test_the_account_gate_passes_what_it_passed(text: str) -> None:
    assert _account_gate_passes(text) == (OLD_ACCOUNT_GATE.search(text) is not None)


@pytest.mark.parametrize("text", ["ROOT/x", "Admin/Pa55", "x \u0130/y", "SA/x", "pi/"])
def test_account_examples_pass_as_before(text: str) -> None:
    assert _account_gate_passes(text) == (OLD_ACCOUNT_GATE.search(text) is not None)


@settings(max_examples=500, deadline=None)
@given(st.one_of(texts, _KEY_BITS))
@example("key -\u0663\u0663\u0663\u0663\u0663\u0663-")
@example("-12345-")
@example("-1234567-")
def test_the_key_gate_passes_whatever_it_passed(text: str) -> None:
    if OLD_KEY_GATE.search(text) is not None:
        assert _KEY_GATE(text)
