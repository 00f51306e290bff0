"""`Block.transform` calls scipy's sparse kernels itself (`features._product`, `_sum`, and
`_counts` for the bigram pairs): the very matrices, entry for entry and in the same storage
order, that scipy's operators give (the reference forms below), on random matrices, canonical
or not, and on the real batches' word products. (The whole transform is checked against its
plain scipy form in `test_models5_weighting`.)"""

from __future__ import annotations

from typing import Any

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from extract import features
from extract.features import Block, _Words


def _same(found: sparse.csr_matrix, expected: sparse.csr_matrix) -> None:
    assert found.shape == expected.shape
    assert found.indptr.tolist() == expected.indptr.tolist()
    assert found.indices.tolist() == expected.indices.tolist()
    assert found.data.tobytes() == expected.data.tobytes()


def _reference_counts(rows: numpy.ndarray, columns: numpy.ndarray,
                      shape: tuple[int, int]) -> sparse.csr_matrix:
    """The bigram pairs as `Block.transform` built them before: through COO."""
    return sparse.csr_matrix((numpy.ones(len(rows)), (rows, columns)), shape=shape)


@st.composite
def _matrices(draw: Any, rows: int, width: int, *, ones: bool) -> sparse.csr_matrix:
    """A CSR matrix whose rows hold columns in any order, repeats included (not canonical)."""
    lengths = draw(st.lists(st.integers(0, 6), min_size=rows, max_size=rows))
    total = sum(lengths)
    indices = draw(st.lists(st.integers(0, width - 1), min_size=total, max_size=total))
    data = ([1.0] * total if ones else
            draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0]), min_size=total,
                          max_size=total)))
    indptr = numpy.zeros(rows + 1, dtype=numpy.int32)
    numpy.cumsum(lengths, out=indptr[1:])
    return sparse.csr_matrix((numpy.asarray(data), numpy.asarray(indices, dtype=numpy.int32),
                              indptr), shape=(rows, width))


@st.composite
def _operands(draw: Any) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    rows, inner, width = (draw(st.integers(1, 8)) for _ in range(3))
    return (draw(_matrices(rows, inner, ones=True)),
            draw(_matrices(inner, width, ones=draw(st.booleans()))))


@settings(max_examples=300, deadline=None)
@given(_operands())
def test_product_is_scipys(operands: tuple[sparse.csr_matrix, sparse.csr_matrix]) -> None:
    left, right = operands
    _same(features._product(left, right), left @ right)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_sum_is_scipys(data: st.DataObject) -> None:
    rows, width = data.draw(st.integers(1, 8)), data.draw(st.integers(1, 8))
    left = data.draw(_matrices(rows, width, ones=False))
    right = data.draw(_matrices(rows, width, ones=True))
    if data.draw(st.booleans()):
        left.sum_duplicates()  # canonical: scipy's merge of sorted rows
    if data.draw(st.booleans()):
        right.sum_duplicates()
    _same(features._sum(left, right), left + right)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 9)), max_size=40))
def test_counts_are_the_coo_matrix(pairs: list[tuple[int, int]]) -> None:
    pairs.sort(key=lambda pair: pair[0])  # rows in order, columns in any order
    rows = numpy.asarray([row for row, _ in pairs], dtype=numpy.int64)
    columns = numpy.asarray([column for _, column in pairs], dtype=numpy.int64)
    _same(features._counts(rows, columns, (8, 10)), _reference_counts(rows, columns, (8, 10)))


def test_real_word_products_are_scipys(batches: list[tuple[Block, Any, Any]]) -> None:
    checked = 0
    for block, rows, strings in batches:
        if block.kind != "text":
            continue
        read = _Words.read(rows)
        table = block._word_rows(strings)
        left = read.by_word(table.shape[0])
        product = features._product(left, table)
        _same(product, left @ table)
        words, owner = read.words, read.owner
        if block.bigrams and words.size > 1:
            same = owner[:-1] == owner[1:]
            columns = features._Probe.build(block.vocabulary).find(
                (words[:-1][same] * features._MIX + words[1:][same]) ^ features._BIGRAM_SALT)
            kept = columns >= 0
            pairs = features._counts(owner[:-1][same][kept], columns[kept], product.shape)
            _same(pairs, _reference_counts(owner[:-1][same][kept], columns[kept],
                                           product.shape))
            _same(features._sum(product, pairs), product + pairs)
        checked += 1
    assert checked >= 8


def test_without_scipys_private_kernels_the_transform_is_the_same(
        batches: list[tuple[Block, Any, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    """`scipy.sparse._sparsetools` is private: if a scipy release moved it, the public operators
    stand in, and every block of every real batch must then give the very same matrix."""
    assert features._sparsetools is not None  # this scipy has them: the fast path ran above
    fast = [block.transform(rows, strings) for block, rows, strings in batches]
    monkeypatch.setattr(features, "_sparsetools", None)
    for (block, rows, strings), expected in zip(batches, fast, strict=True):
        _same(block.transform(rows, strings), expected)
