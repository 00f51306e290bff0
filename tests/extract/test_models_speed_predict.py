"""The model stage's fast paths give the very numbers of the plain forms they replace, bit for
bit, on the sandbox corpus: a tokens block's cached products, the batch's words read by
bytes.join, the category columns read from the ticket's own joins."""

from __future__ import annotations

import numpy
import pytest

from connectors.sandbox.corpus import load_corpus
from extract.analysis import Analysis
from extract.assemble import category_inputs
from extract.classifiers import _joined_words, category_columns, load_bundle, segment_rows
from extract.features import EMPTY, _flat, key
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


def test_flat_words_are_numpys_concatenation(analyses: list[Analysis]) -> None:
    words, _ = _columns(analyses)
    ids = numpy.arange(40, dtype=numpy.uint64) * numpy.uint64(0x9E3779B97F4A7C15)
    cases = [words, [], [ids[:0]], [ids[3:9], ids[:0], ids[20:21]],
             [ids[::2], ids[:3]],  # not contiguous: numpy's path
             [ids[:4].astype(numpy.int32), ids[4:6]]]  # another dtype: numpy's path
    for rows in cases:
        found = _flat(rows, sum(map(len, rows)))
        expected = numpy.concatenate(rows) if rows else EMPTY
        assert found.dtype == expected.dtype
        assert found.tobytes() == expected.tobytes()


def test_category_columns_read_the_joins_as_their_parts(analyses: list[Analysis]) -> None:
    rows = [category_inputs(analysis) for analysis in analyses]
    # a row no join of the ticket's own gives: the generic reading
    rows[0] = (rows[0][0] + " extra words", rows[0][1], rows[0][2])
    opening, notes, votes = category_columns(rows, analyses)
    for row, analysis, first, later, vote in zip(rows, analyses, opening, notes, votes,
                                                 strict=True):
        parts = [(s.clean.text, w) for s, w in zip(analysis.sources, analysis.words,
                                                    strict=True)]
        assert first.tobytes() == _joined_words(row[0], parts).tobytes()
        assert later.tobytes() == _joined_words(row[1], parts).tobytes()
        assert first.dtype == later.dtype == numpy.uint64
        assert vote == tuple(key(v) for v in row[2].split())
    alone = category_columns(rows[:3], [None] * 3)
    for column, expected in zip(alone[:2], (opening, notes), strict=True):
        assert [c.tobytes() for c in column] == [e.tobytes() for e in expected[:3]]
