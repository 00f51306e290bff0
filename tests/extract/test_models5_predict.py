"""`Bundle.predict` reads each block's weights from contiguous copies kept per process (scipy's
product otherwise copies the transposed slice of ``coef_`` at every call): the very
probabilities the plain slices gave, bit for bit, on real tickets; and a bundle whose
coefficients change, or a new bundle, gets its own copies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy
import pytest

from connectors.sandbox.corpus import load_corpus
from extract.analysis import Analysis
from extract.assemble import category_inputs
from extract.classifiers import Bundle, category_columns, load_bundle, segment_rows
from extract.nlp import build_nlp
from extract.train import rule_analysis


def _plain_predict(bundle: Bundle, columns: Sequence[Sequence[Any]], strings: Any) -> numpy.ndarray:
    """`Bundle.predict` as it was: each block's slice of ``coef_`` taken afresh."""
    coef = bundle.classifier.coef_
    scores = numpy.tile(bundle.classifier.intercept_, (len(columns[0]), 1))
    memo: dict[int, Any] = {}
    start = 0
    for block, column in zip(bundle.blocks, columns, strict=True):
        stop = start + len(block.vocabulary)
        weights = coef[:, start:stop].T
        if block.kind == "tokens":
            scores += block.scores(column, weights)
        else:
            scores += block.transform(column, strings, memo) @ weights
        start = stop
    scores -= scores.max(axis=1, keepdims=True)
    numpy.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


@pytest.fixture(scope="module")
def setup() -> tuple[list[Analysis], Any]:
    nlp = build_nlp()
    return [rule_analysis(nlp, ticket) for ticket in load_corpus()[:120]], nlp.vocab.strings


def _role_columns(analyses: list[Analysis]) -> list[list[Any]]:
    words: list[Any] = []
    metas: list[Any] = []
    for analysis in analyses:
        more_words, more_metas = segment_rows(analysis.segments)
        words += more_words
        metas += more_metas
    return [words, words, metas]


def test_probabilities_are_the_plain_slices(setup: tuple[list[Analysis], Any]) -> None:
    analyses, strings = setup
    roles, category = load_bundle("roles"), load_bundle("category")
    for part in (analyses, analyses[:7], analyses[50:]):
        columns = _role_columns(part)
        found = roles.predict(columns, strings)
        assert found.tobytes() == _plain_predict(roles, columns, strings).tobytes()
        rows = [category_inputs(analysis) for analysis in part]
        columns = list(category_columns(rows, part))
        found = category.predict(columns, strings)
        assert found.tobytes() == _plain_predict(category, columns, strings).tobytes()


def test_new_coefficients_and_new_bundles_get_their_own_weights(
        setup: tuple[list[Analysis], Any]) -> None:
    analyses, strings = setup
    roles = load_bundle("roles")
    columns = _role_columns(analyses[:30])
    before = roles.predict(columns, strings)
    roles.classifier.coef_ = roles.classifier.coef_ * 0.5
    halved = roles.predict(columns, strings)
    assert halved.tobytes() == _plain_predict(roles, columns, strings).tobytes()
    assert halved.tobytes() != before.tobytes()
    other = load_bundle("roles")
    assert other.predict(columns, strings).tobytes() == before.tobytes()
