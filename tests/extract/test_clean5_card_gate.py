"""The card rule's gate (extract.redact._digit_run) tests a cheaper translation first; it
answers as the one-step gate it replaced (kept here as the reference) on the sandbox texts,
on the labelled redaction set and on generated runs of digits, spaces and dashes."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import redact

DATA = Path(__file__).parent / "data" / "redaction"


def reference_gate(count: int):
    """`_digit_run` as it was: one translation, with spaces and dashes deleted."""
    run = b"0" * count

    def in_a_run(text: str) -> bool:
        if len(text) < count:
            return False
        if not text.isascii():
            return True
        return run in text.encode("ascii").translate(redact._DIGITS, b" -")
    return in_a_run


def _texts() -> list[str]:
    texts = []
    for ticket in load_corpus():
        texts += [ticket.title, ticket.description, *(n.text for n in ticket.notes)]
    for name in ("secrets.jsonl", "normal.jsonl"):
        with (DATA / name).open(encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle if line.strip()]
    return [text for text in texts if text]


def test_the_card_rule_keeps_a_thirteen_digit_gate() -> None:
    (card,) = [rule for rule in redact._RULES if rule.category == "card_number"]
    assert card.gate is not None and card.gate.__qualname__.startswith("_digit_run")


def test_real_texts_pass_as_before() -> None:
    gate, reference = redact._digit_run(13), reference_gate(13)
    texts = _texts()
    assert sum(map(reference, texts)) > 0
    for text in texts:
        assert gate(text) == reference(text), text[:80]
    joined = "\n".join(texts)
    assert gate(joined) == reference(joined)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="0123456789 -a\n\t", max_size=60), st.integers(min_value=1, max_value=15))
def test_runs_of_digits_and_gaps_pass_as_before(text: str, count: int) -> None:
    assert redact._digit_run(count)(text) == reference_gate(count)(text)
