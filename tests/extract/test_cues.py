"""Gates and phrase indexes: the fast paths of the cue patterns must find exactly what the
patterns find. A gate that misses a literal would silently drop a role or an outcome."""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import Extractor, cues, outcome, roles
from extract.labelled import load_labelled
from extract.lexicon import PhrasePattern, verbs
from extract.patterns import CasePattern
from extract.roles import normalise
from extract.segment import segment_spans
from extract.sources import ticket_sources

GATED = {f"{module.__name__}.{name}": pattern
         for module in (cues, outcome) for name in dir(module)
         if isinstance(pattern := getattr(module, name), CasePattern) and pattern.gate is not None}


@cache
def _words() -> list[str]:
    """Every word and literal fragment written in a gated pattern or the verb lexicon."""
    found: set[str] = set()
    for pattern in GATED.values():
        found.update(re.findall(r"[a-z][a-z'/-]*", re.sub(r"\\.", " ", pattern.pattern)))
    found.update(verbs().action_forms)
    return sorted(found)


@cache
def _real_texts(extractor: Extractor) -> list[str]:
    """Normalised segments and whole texts of the sandbox corpus and the labelled tickets."""
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    texts: list[str] = []
    for ticket in tickets:
        for source in ticket_sources(ticket):
            text = source.clean.text
            texts.append(normalise(text))
            doc = extractor.nlp(text)
            texts.extend(cues.LEAD.sub("", normalise(text[a:b])) for a, b in
                         segment_spans(doc, text))
    return texts


def test_the_cues_that_run_on_every_segment_are_gated() -> None:
    assert {"extract.cues.FAILURE", "extract.cues.SUCCESS", "extract.cues.NOT_DONE",
            "extract.cues.CAUSE_STRONG", "extract.cues.SHORT_OK",
            "extract.outcome._UNRESOLVED"} <= set(GATED)


@pytest.mark.parametrize("name", sorted(GATED))
def test_every_match_in_real_text_passes_the_gate(extractor: Extractor, name: str) -> None:
    pattern = GATED[name]
    texts = _real_texts(extractor)
    matched = [text for text in texts if pattern.exact.search(text)]

    assert all(pattern.gate.search(text) for text in matched)  # type: ignore[union-attr]
    assert all(pattern.search(text) is not None for text in matched)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(_words()), min_size=1, max_size=8), st.sampled_from(["", "?"]))
def test_gated_search_equals_the_pattern_on_phrases_of_cue_words(words: list[str],
                                                                  end: str) -> None:
    text = " ".join(words) + end
    for name, pattern in GATED.items():
        expected = pattern.exact.search(text)
        got = pattern.search(text)
        assert (got is None) == (expected is None), name
        assert got is None or got.span() == expected.span(), name  # type: ignore[union-attr]
        assert (pattern.match(text) is None) == (pattern.exact.match(text) is None), name


def test_a_gate_must_be_lowercase_literals() -> None:
    with pytest.raises(ValueError, match="lowercase"):
        CasePattern(r"\bfoo\b", gate=("Foo",))


def test_a_gate_is_not_applied_where_the_pattern_needs_case_folding() -> None:
    pattern = CasePattern(r"\bRMA\b", gate=("rma",))

    assert pattern.gate is None
    assert pattern.search("sent for rma") is not None


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.sampled_from(sorted(verbs().action_forms)), st.sampled_from(["", " it", ", then", "s",
                                                                        "\tonsite", "-x"]),
       st.sampled_from(["", "had user ", "pw ", "Quickly "]))
def test_phrase_index_matches_what_the_whole_alternation_matches(form: str, tail: str,
                                                                 head: str) -> None:
    pattern = verbs().action_pattern
    assert isinstance(pattern, PhrasePattern)
    text = head + form + tail
    for pos in range(len(head) + 1):
        expected = (pattern.exact if text.isascii() and text.islower() else pattern.folded) \
            .match(text, pos)
        got = pattern.match(text, pos)
        assert (got is None) == (expected is None)
        assert got is None or got.span() == expected.span()  # type: ignore[union-attr]


def test_the_token_gates_of_classify_never_close_on_a_match_in_real_text(
        extractor: Extractor) -> None:
    texts = [text for text in _real_texts(extractor) if text.isascii()]
    for text in texts:
        mask = roles._GATES.mask(text)
        for name, pattern in zip(roles._BIT.__slots__, roles._PATTERNS, strict=True):
            if pattern.exact.search(text) is not None:
                assert mask & getattr(roles._BIT, name), (name, text)


def test_the_action_phrase_starters_hold_every_token_a_phrase_matches_at(
        extractor: Extractor) -> None:
    pattern = verbs().action_pattern.exact
    for text in _real_texts(extractor):
        if not text.isascii():
            continue
        start = 0
        for token in text.split(" "):
            if pattern.match(text, start) is not None:
                assert roles._starters()[token], (token, text)
            start += len(token) + 1


def test_the_branch_gates_of_the_split_cues_never_close_on_a_match_in_real_text(
        extractor: Extractor) -> None:
    for text in _real_texts(extractor):
        if not text.isascii():
            continue
        mask = roles._GATES.mask(text)
        for split in roles._SPLITS:
            for index, branch in enumerate(split.exact.branches):
                if branch.search(text) is not None:
                    assert mask >> (split.shift + index) & 1, (branch.pattern, text)


def test_the_note_gates_of_outcome_never_close_on_a_match_in_real_text(
        extractor: Extractor) -> None:
    cues_ = (outcome._UNRESOLVED, outcome._WORKAROUND, outcome._ESCALATED)
    for text in _real_texts(extractor):
        if not (text.isascii() and text.islower()):
            continue
        mask = outcome._NOTE_GATES.mask(text)
        for bit, cue in enumerate(cues_):
            if cue.exact.search(text) is not None:
                assert mask >> bit & 1, (cue.pattern[:30], text)


def test_the_exact_token_gates_of_classify_are_on_exactly_when_their_pattern_matches(
        extractor: Extractor) -> None:
    patterns = [*(p.exact for p in roles._PATTERNS),
                *(branch for split in roles._SPLITS for branch in split.exact.branches)]
    exact = [(index, pattern) for index, pattern in enumerate(patterns)
             if roles._GATES.exact >> index & 1]
    assert len(exact) >= 5  # the one-word cues: "confirmed", "persists", "error", ...
    edge_cases = [f"{head}{word}{tail}" for word in ("error", "confirmed", "success", "i", "we")
                  for head in ("", "un", "x-", "(", "'") for tail in ("", "s", "ly", "!", "-x",
                                                                       "'s", "_")]
    texts = [text for text in _real_texts(extractor) if text.isascii()]
    for text in [*texts, *edge_cases, " ".join(edge_cases)]:
        mask = roles._GATES.mask(text)
        for index, pattern in exact:
            assert bool(mask >> index & 1) == (pattern.search(text) is not None), (
                pattern.pattern[:40], text)


def test_the_not_done_phrases_and_a_final_question_mark_are_what_not_done_finds(
        extractor: Extractor) -> None:
    for text in [*_real_texts(extractor), "will do?", "ok?", "is it fixed ?", "willing?"]:
        found = cues.NOT_DONE.search(text)
        gates = roles._GATES.mask(text) if text.isascii() else roles._ALL_OPEN
        planned = roles._NOT_DONE.found(text, gates)
        assert (found is not None) == (planned or text.endswith("?")), text
        assert found is None or found.group().endswith("?") == (not planned), text


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(["printer", "vpn", "all", "now", "ok", "working", "works", "fine",
                                 "is", "a/b", "x.y", "-", "not", "good"]),
                min_size=1, max_size=9))
def test_short_ok_never_matches_more_tokens_than_classify_lets_it_try(words: list[str]) -> None:
    # `classify` skips `cues.SHORT_OK` on a body of more than `_SHORT_OK_TOKENS` tokens.
    text = " ".join(words)
    if cues.SHORT_OK.match(text) is not None:
        assert len(words) <= roles._SHORT_OK_TOKENS


def test_short_ok_matches_at_most_its_token_count_in_real_text(extractor: Extractor) -> None:
    for text in _real_texts(extractor):
        if cues.SHORT_OK.match(text) is not None:
            assert len(text.split()) <= roles._SHORT_OK_TOKENS, text
