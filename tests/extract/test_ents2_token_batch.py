"""The entity tagger, handed the `TokenBatch` the segment boundaries made of the same docs (as
the extractor hands it), reads their joined token table from it rather than joining it again:
what it finds is what it finds on the docs alone (the reference, itself checked against the
per-doc tagger in test_ents_batch.py), on real batches and generated ones; a batch of other
docs is ignored.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.tokens import Doc

from extract import Extractor
from extract.entities import EntityTagger
from extract.segment import Boundaries, TokenBatch, with_text
from tests.extract.test_ents_batch import _real_tickets
from tests.extract.test_ents_batch import _texts as dense_texts

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True)


@pytest.fixture(scope="module")
def tagger(extractor: Extractor) -> EntityTagger:
    return next(c for _, c in extractor.nlp.pipeline if isinstance(c, EntityTagger))


def _marked(extractor: Extractor, texts: list[str]) -> tuple[list[Doc], TokenBatch | None]:
    docs = [with_text(extractor.nlp.make_doc(text), text) for text in texts]
    boundaries = next(c for _, c in extractor.nlp.pipeline if isinstance(c, Boundaries))
    return docs, boundaries.mark(docs)


def _entities(docs: list[Doc]) -> list[object]:
    return [doc.user_data["fixedit_entities"] for doc in docs]


def _check(extractor: Extractor, tagger: EntityTagger, texts: list[str]) -> None:
    docs, tokens = _marked(extractor, texts)
    tagger.mark(docs)
    expected = _entities(docs)
    for doc in docs:
        del doc.user_data["fixedit_entities"]
    tagger.mark(docs, tokens)
    assert _entities(docs) == expected


def test_real_batches_are_tagged_as_without_the_token_batch(
        extractor: Extractor, tagger: EntityTagger) -> None:
    tickets = _real_tickets()
    for at in range(0, len(tickets), 64):
        _check(extractor, tagger, [text for ticket in tickets[at:at + 64] for text in ticket])


@SETTINGS
@given(st.lists(st.one_of(dense_texts, st.just("")), min_size=1, max_size=6))
def test_dense_batches_are_tagged_as_without_the_token_batch(
        extractor: Extractor, tagger: EntityTagger, texts: list[str]) -> None:
    _check(extractor, tagger, texts)


@pytest.mark.parametrize("texts", [
    ["Outlook 2016 error 0x80070005", "see KB5034441 and CRITICAL_PROCESS_DIED"],
    ["Outlook 2016 error 0x80070005", "", "see KB5034441 and CRITICAL_PROCESS_DIED"],
])
def test_a_token_batch_of_other_docs_is_ignored(
        extractor: Extractor, tagger: EntityTagger, texts: list[str]) -> None:
    docs, _ = _marked(extractor, texts)
    tagger.mark(docs)
    expected = _entities(docs)
    others, tokens = _marked(extractor, list(reversed(texts)))
    for wrong in [tokens, _marked(extractor, texts[:1])[1], _marked(extractor, texts)[1]]:
        tagger.mark(docs, wrong)
        assert _entities(docs) == expected
    tagger.mark(others, tokens)
    assert _entities(others) == list(reversed(expected))
