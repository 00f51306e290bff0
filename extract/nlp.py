"""The spaCy pipeline: ``spacy.blank("en")`` plus fixedit's registered components. No downloads.

Build it once per process (`build_nlp`) and reuse it; construction compiles every pattern.
"""

from __future__ import annotations

import spacy
from spacy.language import Language
from spacy.symbols import ORTH

# Importing the component modules registers their factories with spaCy.
from extract.entities import FACTORY as ENTITIES
from extract.segment import FACTORY as BOUNDARIES

__all__ = ["build_nlp"]


def build_nlp() -> Language:
    """A blank English pipeline: segment boundaries (sentences, lines, clauses), entities."""
    nlp = spacy.blank("en")
    nlp.tokenizer.rules = {
        text: attrs for text, attrs in nlp.tokenizer.rules.items()
        # "id" is a contraction ("I'd") to stock spaCy; in IT text it is an identifier ("event
        # id").
        if text.lower() != "id" and not _plain_space(text, attrs)
    }
    nlp.add_pipe(BOUNDARIES)
    nlp.add_pipe(ENTITIES)
    return nlp


def _plain_space(text: str, attrs: list[dict[int, str]]) -> bool:
    """Whether the tokeniser rule for `text` is a whitespace that stays one token and sets
    nothing but its text (stock spaCy's " ", "\\n" and "\\t"), which the tokeniser makes
    anyway: a run of whitespace is a chunk of its own, and no prefix, suffix or infix splits
    one.

    Such a rule changes no token, but costs the whole tokeniser: after the first special case
    of a text, spaCy caches none of its further chunks (a special case's tokens may carry
    attributes a cached chunk would lose), so every word after a text's first line break was
    split afresh by the affix patterns on every call (measured: tokenising the bench corpus
    0.087 -> 0.050 ms a ticket without them; tests/extract/test_s6comps_tokeniser.py checks
    the tokens are the same)."""
    return text.isspace() and attrs == [{ORTH: text}]

