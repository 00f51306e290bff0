"""CasePattern: the case-sensitive fast path must match exactly what IGNORECASE matches."""

import re

from hypothesis import given
from hypothesis import strategies as st

from extract import cues
from extract.lexicon import verbs
from extract.patterns import (
    MAX_CACHED_TOKEN,
    Alternation,
    CasePattern,
    TokenGates,
    fast_start,
    required_literals,
    split_phrases,
    top_level_branches,
    with_single_spaces,
)

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


def test_required_literals_multiply_out_finite_runs() -> None:
    assert required_literals(r"\b(?:was|were) unsuccessful\b") == {
        "was unsuccessful", "were unsuccessful"}


def test_required_literals_of_an_alternation_need_every_branch() -> None:
    assert required_literals(r"\bfoo\b|\bbar\d") == {"foo", "bar"}
    assert required_literals(r"\bfoo\b|\d+") is None


def test_required_literals_pick_the_rarest_part_of_a_sequence() -> None:
    assert required_literals(r"(?:is|are)\s+\w+\s+(?:broken|stuck)") == {"broken", "stuck"}


def test_required_literals_join_words_across_spaces_only_in_single_spaced_text() -> None:
    pattern = r"\bno\s+(?:luck|joy)\b"
    assert required_literals(pattern, single_spaced=True) == {"no luck", "no joy"}
    assert required_literals(pattern) == {"luck", "joy"}


def test_required_literals_need_nothing_of_what_can_match_empty() -> None:
    assert required_literals(r"(?:foo)?") is None
    assert required_literals(r"(?i)foo") is None


def test_token_gates_open_on_a_piece_inside_a_token() -> None:
    gates = TokenGates([r"\bno luck\b", r"\bfixed\b", r"\d+"])
    assert gates.mask("still no luck, sorry") == 0b101
    assert gates.mask("fixed.") == 0b110
    assert gates.mask("nothing here") == 0b100


def test_token_gates_forget_tokens_past_their_limit() -> None:
    gates = TokenGates([r"\bfixed\b"], limit=2)
    for text in ("a", "b", "c", "fixed", "d"):
        gates.mask(text)
    assert len(gates.masks) <= 2
    assert gates.mask("fixed") == 1


_TEXT_WORDS = st.sampled_from(
    ["no", "luck", "is", "working", "not", "fixed", "user", "can't", "print", "still",
     "the", "back", "up", "again", "didn't", "help", "?", "confirmed", "because", "b/c",
     "shared", "mailbox", "missing", "tried", "restart", "1.", "ok", "now", "it", "was", "-"])


@given(st.lists(_TEXT_WORDS, min_size=1, max_size=10), st.sampled_from(_CUES))
def test_token_gates_never_close_on_a_match(words: list[str], pattern: CasePattern) -> None:
    text = " ".join(words)
    gates = TokenGates([pattern.pattern])
    if pattern.exact.search(text) is not None:
        assert gates.mask(text) == 1


def test_top_level_branches_split_only_the_outermost_alternation() -> None:
    assert top_level_branches(r"a|b(c|d)|[|]x|[]|]y|[^]|]w|\|z") == [
        "a", "b(c|d)", "[|]x", "[]|]y", "[^]|]w", r"\|z"]
    for pattern in _CUES:
        assert "|".join(top_level_branches(pattern.pattern)) == pattern.pattern


@given(st.lists(_TEXT_WORDS, min_size=1, max_size=10), st.sampled_from(_CUES))
def test_an_alternation_with_every_branch_open_finds_what_the_pattern_finds(
        words: list[str], pattern: CasePattern) -> None:
    text = " ".join(words)
    alternation = Alternation(pattern.pattern)
    expected = pattern.exact.search(text)
    got = alternation.search(text, (1 << len(alternation.branches)) - 1)
    assert _same(got, expected)


def test_an_alternation_takes_the_leftmost_match_then_the_first_branch() -> None:
    alternation = Alternation(r"b+|ab|a")
    assert alternation.search("xabb", 0b111).group() == "ab"  # type: ignore[union-attr]
    assert alternation.search("xabb", 0b101).group() == "a"  # type: ignore[union-attr]
    assert alternation.search("xabb", 0b001).group() == "bb"  # type: ignore[union-attr]
    assert alternation.search("xabb", 0) is None


def test_token_gates_look_at_long_tokens_without_keeping_them() -> None:
    gates = TokenGates([r"\bfixed\b"])
    token = "x" * (MAX_CACHED_TOKEN + 1) + "fixed"
    assert gates.mask(token) == 1
    assert token not in gates.masks


# Token-local patterns (a match holds no whitespace, and looks at nothing around it but word
# boundaries) and ones that are not; `TokenGates(exact=True)` decides only the first kind.
_TOKEN_LOCAL = [r"\bfixed\b", r"\b(?:error|crash(?:ed)?)\b", r"\bcan'?t\b", r"fail(?:s|ed)?",
                r"\b[a-z]+ed\b", r"\d+gb\b", r"\bw/o\b", r"\Bing\b", r"\bsuccessful(?:ly)?\b"]
_NOT_TOKEN_LOCAL = [r"\bno luck\b", r"\bfixed\s", r"^fixed\b", r"\bfixed$", r"fix(?=ed)",
                    r"(?<!not )fixed", r"fi.ed", r"fix[^a]d", r"\bfixed\b|\bno\s+luck\b"]
_EDGE_WORDS = st.sampled_from(
    ["fixed", "unfixed", "fixed.", "(fixed)", "fixed,", "fixedup", "refixed", "fixed-it", "error",
     "errors", "error:", "crashed", "crash'd", "can't", "cant", "can''t", "fails", "failed",
     "failure", "w/o", "w/out", "x/w/o", "123", "16gb", "x16gbs", "gb", "ing", "doing", "ing-",
     "successfully", "successful!", "unsuccessful", "_fixed", "fixed_", "no", "luck", "it",
     "-", "'", "..."])
_SPACES = st.sampled_from([" ", "  ", "\t", "\n", " \u00a0", "\u2003"])


@given(st.lists(st.tuples(_EDGE_WORDS, _SPACES), min_size=1, max_size=8),
       st.sampled_from(["", " ", "\n"]))
def test_exact_token_gates_are_on_exactly_when_their_pattern_matches(
        words: list[tuple[str, str]], lead: str) -> None:
    text = lead + "".join(word + space for word, space in words)
    gates = TokenGates([*_TOKEN_LOCAL, *_NOT_TOKEN_LOCAL], exact=True)
    assert gates.exact == (1 << len(_TOKEN_LOCAL)) - 1
    mask = gates.mask(text)
    for index, pattern in enumerate(_TOKEN_LOCAL):
        assert bool(mask >> index & 1) == (re.search(pattern, text) is not None), (pattern, text)
    for index, pattern in enumerate(_NOT_TOKEN_LOCAL, len(_TOKEN_LOCAL)):
        if re.search(pattern, text) is not None:  # only a gate: never closed on a match
            assert mask >> index & 1, (pattern, text)


def test_exact_token_gates_decide_a_token_once_and_keep_the_answer() -> None:
    gates = TokenGates([r"\bfixed\b", r"\bno luck\b"], exact=True)
    assert gates.exact == 0b01
    assert gates.mask("prefixed") == 0  # holds the literal, but the pattern does not match
    assert gates.masks["prefixed"] == 0
    assert gates.mask("fixed!") == 0b01
    assert gates.mask("prefixed fixed") == 0b01
    assert gates.mask("no luck") == 0b10


def test_without_the_option_no_token_gate_is_exact() -> None:
    gates = TokenGates([r"\bfixed\b"])
    assert gates.exact == 0
    assert gates.mask("prefixed") == 1  # the literal alone opens it


def test_a_pattern_that_can_match_anything_is_never_exact() -> None:
    gates = TokenGates([r"\w*", r"\bfixed\b"], exact=True)
    assert gates.exact == 0b10
    assert gates.mask("") == 0b01


def test_fast_start_moves_a_leading_boundary_behind_the_literal_text() -> None:
    assert fast_start(r"\bgoing to\b") == r"going to(?<!\wgoing to)\b"
    assert fast_start(r"\bno luck\b|\b1st\b") == r"no luck(?<!\wno luck)\b|1st(?<!\w1st)\b"
    # The literal text stops before a character made optional or repeated.
    assert fast_start(r"\bworks?\s") == r"work(?<!\wwork)s?\s"
    assert fast_start(r"\bdidn'?t") == r"didn(?<!\wdidn)'?t"
    assert fast_start(r"\bno ?x") == r"no(?<!\wno) ?x"
    assert fast_start(r"\bab{2}") == r"a(?<!\wa)b{2}"
    # Left alone: a group first, an optional first letter, a branch without a leading "\b".
    for pattern in (r"\b(?:a|b)c", r"\bs?x", r"\bfoo|bar", r"foo\b"):
        assert fast_start(pattern) == pattern


_BOUNDARY_WORDS = st.sampled_from(["going", "to", "ogoing", "go", "1st", "x1st", "no", "luck",
                                   "noluck", "_no", "é", "-", "'", "", "ing", "sgoing",
                                   "goin'g", "goin", "g"])


@given(st.lists(_BOUNDARY_WORDS, max_size=6), st.sampled_from([" ", "", "-", "_", "\u00e9"]),
       st.integers(0, 3),
       st.sampled_from([r"\bgoing to\b", r"\bno luck\b|\b1st\b", r"\bgo\w*", r"\bo\B",
                        r"\bgo(?:ing)? to\b", r"\bno ?luck", r"\bgoin'?g\b"]))
def test_fast_start_finds_what_the_pattern_finds(words: list[str], joint: str, pos: int,
                                                 pattern: str) -> None:
    text = joint.join(words)
    original, rewritten = re.compile(pattern), re.compile(fast_start(pattern))
    assert fast_start(pattern) != pattern
    for start in range(min(pos, len(text)) + 1):
        assert _same(rewritten.search(text, start), original.search(text, start))
        assert _same(rewritten.match(text, start), original.match(text, start))


def test_split_phrases_spells_out_a_leading_group_of_each_branch() -> None:
    assert split_phrases(r"\b(?:a|b c)\b|\b(?:x|y) z|\b(?:q|r)?s|t") == \
        r"\ba\b|\bb c\b|\bx z|\by z|\b(?:q|r)?s|t"


def test_split_phrases_drops_leading_optional_words_only_where_asked_and_sound() -> None:
    pattern = r"\b(?:the )?(?:root )?cause was\b|\b(?:the )?(?:issue|error) is"
    assert split_phrases(pattern) == pattern
    assert split_phrases(pattern, found_only=True) == r"\bcause was\b|\bissue is|\berror is"
    # Kept where a match may then start with no letter, so without the boundary it had.
    for kept in (r"\b(?:the )?\d+ x", r"\b(?:the )?(?:a|-)x", r"\b(?:the )?s?x",
                 r"\b(?:the )?(?:a|b)?-x", r"\b(?:the )?"):
        assert split_phrases(kept, found_only=True) == kept


_OPTIONAL_LEADS = [r"\b(?:the )?(?:root )?cause (?:was|is)\b", r"\b(?:the )?(?:issue|error) is",
                   r"\b(?:a )?(?:no|not) luck\b|\b(?:the )?it\b", r"\b(?:the )?(?:a|-)x"]


@given(st.lists(st.sampled_from(["the", "root", "cause", "was", "is", "issue", "error", "a",
                                 "no", "not", "luck", "it", "-", "x", "-x", "thecause", "_"]),
                max_size=8), st.sampled_from([" ", "", "-", "_"]),
       st.sampled_from(_OPTIONAL_LEADS))
def test_split_phrases_for_found_only_finds_a_match_exactly_when_the_pattern_does(
        words: list[str], joint: str, pattern: str) -> None:
    text = joint.join(words)
    assert (re.search(split_phrases(pattern, found_only=True), text) is None) == \
        (re.search(pattern, text) is None)


@given(st.lists(_TEXT_WORDS, min_size=1, max_size=10), st.sampled_from(_CUES))
def test_split_phrases_finds_what_the_pattern_finds(words: list[str],
                                                   pattern: CasePattern) -> None:
    text = " ".join(words)
    alternation = Alternation(split_phrases(pattern.pattern))
    got = alternation.search(text, (1 << len(alternation.branches)) - 1)
    assert _same(got, pattern.exact.search(text))
    assert _same(re.search(split_phrases(pattern.pattern), text), pattern.exact.search(text))
    assert (re.search(split_phrases(pattern.pattern, found_only=True), text) is None) == \
        (pattern.exact.search(text) is None)


def test_with_single_spaces_writes_each_whitespace_run_as_a_space() -> None:
    assert with_single_spaces(r"\bis\s+(?:now\s+)?ok\b") == r"\bis (?:now )?ok\b"
    # Left alone: a class, an escaped backslash, other quantifiers.
    assert with_single_spaces(r"[\s+]x\s+?y\s*z\\s+[^]\s+]") == r"[\s+]x y\s*z\\s+[^]\s+]"


@given(st.lists(_TEXT_WORDS, min_size=1, max_size=10), st.sampled_from(_CUES))
def test_a_single_spaced_alternation_finds_what_the_pattern_finds_in_single_spaced_text(
        words: list[str], pattern: CasePattern) -> None:
    text = " ".join(words)
    alternation = Alternation(split_phrases(pattern.pattern), single_spaced=True)
    got = alternation.search(text, (1 << len(alternation.branches)) - 1)
    assert _same(got, pattern.exact.search(text))
