"""The extractor's tokeniser without stock spaCy's plain whitespace rules (" ", "\\n", "\\t")
makes the same tokens as with them (`extract.nlp._plain_space`)."""

from __future__ import annotations

from functools import cache

import numpy
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.attrs import IDX, IS_SPACE, LENGTH, LOWER, NORM, ORTH, SHAPE, SPACY
from spacy.tokenizer import Tokenizer

from connectors.sandbox.corpus import load_corpus
from extract.nlp import build_nlp
from extract.sources import ticket_sources

_ATTRS = [ORTH, NORM, LOWER, IDX, LENGTH, SPACY, IS_SPACE, SHAPE]


@cache
def _old_tokenizer() -> Tokenizer:
    """The tokeniser as `build_nlp` made it before: every stock rule but "id"."""
    nlp = spacy.blank("en")
    nlp.tokenizer.rules = {
        text: attrs for text, attrs in nlp.tokenizer.rules.items() if text.lower() != "id"
    }
    return nlp.tokenizer


@cache
def _new_tokenizer() -> Tokenizer:
    return build_nlp().tokenizer


def _same_tokens(text: str) -> None:
    old, new = _old_tokenizer()(text), _new_tokenizer()(text)
    assert [token.text for token in new] == [token.text for token in old], text
    assert numpy.array_equal(new.to_array(_ATTRS), old.to_array(_ATTRS)), text


def test_the_plain_whitespace_rules_are_gone() -> None:
    rules = _new_tokenizer().rules
    assert not {" ", "\n", "\t"} & set(rules)
    assert "\xa0" in rules  # it sets a NORM: kept
    assert set(_old_tokenizer().rules) - set(rules) == {" ", "\n", "\t"}


def test_real_texts_are_tokenised_alike() -> None:
    texts = [source.clean.text for ticket in load_corpus() for source in ticket_sources(ticket)]
    assert any("\n" in text for text in texts)
    for _ in range(2):  # the second time from the tokenisers' caches
        for text in texts:
            _same_tokens(text)


_PIECES = ["\n", " ", "  ", "\t", "\r\n", "\xa0", "\u2028", "\x0b", "\u3000", "don't", "e.g.",
           "(", ")", "-", "'", '"', "id", "I'd", "ok.", "http://x.io/a", ":)", "a", "b", "1.2",
           "--", "...", ",", "can't", "N/A", "\\n", "\\t", "x\ny", "—"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=20).map("".join))
def test_whitespace_heavy_texts_are_tokenised_alike(text: str) -> None:
    _same_tokens(text)
    _same_tokens(text)  # and again, from the caches


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_tokenised_alike(text: str) -> None:
    _same_tokens(text)
