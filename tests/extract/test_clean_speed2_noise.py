"""`noise_ranges` runs its `_QUICK` gate on the folded text, whatever the text's characters.

It ran the split, case-sensitive test (`_quick_ascii`) on lowercased ASCII text only, and the
one regex `_QUICK` (IGNORECASE) on any other text, which tries every alternative at every
character. Folding (`_fold`) maps each character to one whose case-sensitive match is the
original's case-insensitive one; this is checked here for every Unicode character, and the gate
and `noise_ranges` are compared with the forms they replaced on generated and real texts.
"""

from __future__ import annotations

import re
import sys
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import email_noise
from extract.labelled import load_labelled

_ALL = [chr(code) for code in range(sys.maxunicode + 1)]


def test_folding_keeps_every_character_one_character() -> None:
    assert [c for c in _ALL if len(email_noise._fold(c)) != 1] == []


def test_only_the_fold_letters_match_ascii_ignoring_case() -> None:
    ascii_ignoring_case = re.compile(r"[\x00-\x7f]", re.IGNORECASE)
    matching = [c for c in _ALL if not c.isascii() and ascii_ignoring_case.fullmatch(c)]
    assert sorted(matching) == sorted(email_noise._FOLD_LETTERS)
    # ... and folding takes those, and only those, to ASCII: to the letter they match.
    assert [c for c in _ALL if not c.isascii() and email_noise._fold(c).isascii()] == matching
    for letter in matching:
        assert re.fullmatch(email_noise._fold(letter), letter, re.IGNORECASE)


@pytest.mark.parametrize("kind", [r"\w", r"\s"])
def test_folding_keeps_word_and_space_characters_what_they_are(kind: str) -> None:
    pattern = re.compile(kind)
    assert [c for c in _ALL
            if bool(pattern.fullmatch(c)) != bool(pattern.fullmatch(email_noise._fold(c)))] == []


_FRAGMENTS = [
    "\n", "\n\n", " ", "\t", "*", ">", "-", "--", "_" * 8, ":", "x", "Thanks", "THX", "ty",
    "tia", "Best", "Regards", "Jane Doe", "JANE DOE", "wrote:", "From:", "Sent from",
    "CONFIDENTIAL", "This email", "Ticket", "Alert", "Note", "\u0130", "\u0131", "\u017f",
    "\u212a", "é", "É", "’", "“", "Σ", "ß", "ǅ", "\u0307", "\xa0", "\u2003", "TIcKET", "r\u0130ng",
    "thank", "\u212aind", "\u017fent from", "th\u0131s email", "notice", "ſincerely",
]
_TEXTS = st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join)
_SETTINGS = settings(max_examples=1500, deadline=None, derandomize=True)


@_SETTINGS
@given(_TEXTS)
def test_the_quick_test_on_folded_text_is_the_regex(text: str) -> None:
    assert email_noise._quick_ascii(email_noise._fold(text)) is bool(
        email_noise._QUICK.search(text))


def _noise_ranges_before(text: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """`noise_ranges` with its gate as it was: the `_QUICK` regex on the text itself (which the
    split test equals on lowercased ASCII, see test_email_noise_gates.py)."""
    with monkeypatch.context() as patch:
        patch.setattr(email_noise, "_quick_ascii",
                      lambda _folded: bool(email_noise._QUICK.search(text)))
        return email_noise.noise_ranges(text)


@cache
def _real_texts() -> list[str]:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    return sorted({text for ticket in tickets for text in
                   (ticket.title, ticket.description or "", *(n.text for n in ticket.notes))})


@_SETTINGS
@given(_TEXTS)
def test_noise_ranges_are_those_of_the_regex_gate(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert email_noise.noise_ranges(text) == _noise_ranges_before(text, monkeypatch)


def test_real_texts_have_the_noise_ranges_of_the_regex_gate(
        monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _real_texts()
    # With the non-ASCII letters the fold is about, in place of their ASCII twins.
    texts += [text.replace("i", "\u0131").replace("K", "\u212a") for text in texts]
    assert sum(not text.isascii() for text in texts) > 100
    for text in texts:
        assert email_noise.noise_ranges(text) == _noise_ranges_before(text, monkeypatch), text
