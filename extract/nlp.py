"""The spaCy pipeline: ``spacy.blank("en")`` plus fixedit's registered components. No downloads.

Build it once per process (`build_nlp`) and reuse it; construction compiles every pattern.
"""

from __future__ import annotations

import spacy
from spacy.language import Language

# Importing the component modules registers their factories with spaCy.
from extract.entities import FACTORY as ENTITIES
from extract.segment import FACTORY as BOUNDARIES

__all__ = ["build_nlp"]


def build_nlp() -> Language:
    """A blank English pipeline: segment boundaries (sentences, lines, clauses), entities."""
    nlp = spacy.blank("en")
    # "id" is a contraction ("I'd") to stock spaCy; in IT text it is an identifier ("event id").
    nlp.tokenizer.rules = {
        text: attrs for text, attrs in nlp.tokenizer.rules.items() if text.lower() != "id"
    }
    nlp.add_pipe(BOUNDARIES)
    nlp.add_pipe(ENTITIES)
    return nlp
