"""CasePattern: the case-sensitive fast path must match exactly what IGNORECASE matches."""

import re

from hypothesis import given
from hypothesis import strategies as st

from extract import cues
from extract.lexicon import verbs
from extract.patterns import CasePattern

_CUES = [getattr(cues, name) for name in cues.__all__ if isinstance(getattr(cues, name),
                                                                     CasePattern)]
_ALPHABET = st.sampled_from([*"abcdefghijklmnopqrstuvwxyz ,.;:'?-/0123456789\nKSI",
                             "\u017f", "\u0131", "\u212a", "\u0130"])


def _same(left: re.Match[str] | None, right: re.Match[str] | None) -> bool:
    return (left is None) == (right is None) and (left is None or (
        left.span() == right.span() and left.groupdict() == right.groupdict()))


def test_cue_patterns_take_the_fast_path_on_lowercase_ascii() -> None:
    assert _CUES and all(p.exact is not p.folded for p in _CUES)
    assert verbs().action_pattern.exact is not verbs().action_pattern.folded


def test_uppercase_in_a_pattern_keeps_it_case_insensitive() -> None:
    pattern = CasePattern(r"\bRMA\b")
    assert pattern.exact is pattern.folded
    assert pattern.search("sent for rma") is not None


@given(st.text(_ALPHABET, max_size=60), st.sampled_from(_CUES))
def test_fast_path_agrees_with_ignorecase(text: str, pattern: CasePattern) -> None:
    # The alphabet holds the Unicode folds (Kelvin sign, long s, dotless i) that IGNORECASE
    # matches to ASCII letters: text holding them must take the slow path.
    assert _same(pattern.search(text), pattern.folded.search(text))
    assert _same(pattern.match(text), pattern.folded.match(text))
    assert pattern.sub("", text) == pattern.folded.sub("", text)


def test_mixed_case_text_still_matches_case_insensitively() -> None:
    assert cues.FAILURE.search("Still Not Working") is not None
    assert verbs().action_pattern.match("Rebooted the server") is not None
