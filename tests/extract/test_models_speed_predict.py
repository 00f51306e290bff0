"""The model stage's fast paths give the very numbers of the plain forms they replace, bit for
bit, on the sandbox corpus: a tokens block's cached products, the word-table product."""

from __future__ import annotations

import numpy
import pytest

from connectors.sandbox.corpus import load_corpus
from extract.analysis import Analysis
from extract.classifiers import load_bundle, segment_rows
from extract.features import _Words
from extract.nlp import build_nlp
from extract.train import rule_analysis


@pytest.fixture(scope="module")
def analyses() -> list[Analysis]:
    nlp = build_nlp()
    return [rule_analysis(nlp, ticket) for ticket in load_corpus()[:80]]


def _columns(analyses: list[Analysis]) -> tuple[list[numpy.ndarray], list[tuple[int, ...]]]:
    words: list[numpy.ndarray] = []
    metas: list[tuple[int, ...]] = []
    for analysis in analyses:
        more_words, more_metas = segment_rows(analysis.segments)
        words += more_words
        metas += more_metas
    return words, metas


def test_token_scores_are_the_batch_product(analyses: list[Analysis]) -> None:
    bundle = load_bundle("roles")
    block = bundle.blocks[2]
    start = sum(len(b.vocabulary) for b in bundle.blocks[:2])
    weights = bundle.classifier.coef_[:, start:].T
    _, metas = _columns(analyses)
    # equal tuples that are distinct objects, and the cache over several calls
    copies = [tuple(meta) for meta in metas[::3]]
    for rows in (metas[:40], metas, copies + metas, metas[::-1]):
        distinct, which = block.distinct_rows(rows)
        expected = (distinct @ weights)[which]
        found = block.scores(rows, weights)
        assert found.tobytes() == expected.tobytes()
    # other weights: the cache starts afresh
    doubled = weights * 2
    distinct, which = block.distinct_rows(metas)
    assert block.scores(metas, doubled).tobytes() == (distinct @ doubled)[which].tobytes()


def test_word_table_product_is_scipys(analyses: list[Analysis]) -> None:
    words, _ = _columns(analyses)
    strings = analyses[0].strings
    for block in load_bundle("roles").blocks[:2]:
        block.transform(words, strings)  # fills the block's word table
        table = block._word_rows(strings)
        read = _Words.read(words)
        expected = read.occurs(read.ids, table.shape[0]) @ table
        found = read.times(read.ids, table)
        assert found.shape == expected.shape
        assert found.indptr.tolist() == expected.indptr.tolist()
        assert found.indices.tobytes() == expected.indices.tobytes()
        assert found.data.tobytes() == expected.data.tobytes()
