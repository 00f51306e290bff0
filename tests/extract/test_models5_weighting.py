"""`Block.transform` weights its counts through reused scratch arrays (no fresh array of a
batch's size, whose page faults cost more than the arithmetic): the very matrix, bit for bit,
that the plain form gave, on the real corpus's batches and on random rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from extract import features
from extract.features import Block, _Words


def _plain_transform(block: Block, rows: Sequence[Any], strings: Any) -> sparse.csr_matrix:
    """`Block.transform` of a text block as it was: fresh arrays for the gather, the squares
    and the norms repeated entry by entry."""
    read = _Words.read(rows)
    if block.subwords and strings is None:
        distinct, inverse = features._unique(read.words)
        matrix = read.occurs(inverse, len(distinct)) @ block._columns_of(distinct, strings)
    else:
        rows_of_words = block._word_rows(strings)
        matrix = read.by_word(rows_of_words.shape[0]) @ rows_of_words
    words, owner = read.words, read.owner
    if block.bigrams and words.size > 1:
        same = owner[:-1] == owner[1:]
        probe = features._Probe.build(block.vocabulary)
        columns = probe.find((words[:-1][same] * features._MIX + words[1:][same])
                             ^ features._BIGRAM_SALT)
        kept = columns >= 0
        pairs = sparse.csr_matrix(
            (numpy.ones(int(kept.sum())), (owner[:-1][same][kept], columns[kept])),
            shape=matrix.shape)
        matrix = matrix + pairs
    data = matrix.data
    numpy.log(data, out=data)
    data += 1.0
    data *= block.idf.take(matrix.indices)
    squares = sparse.csr_matrix((data * data, matrix.indices, matrix.indptr), shape=matrix.shape)
    norms = numpy.sqrt(squares @ numpy.ones(matrix.shape[1]))
    norms[norms == 0] = 1.0
    data /= numpy.repeat(norms, numpy.diff(matrix.indptr))
    return matrix


def _same(found: sparse.csr_matrix, expected: sparse.csr_matrix) -> None:
    assert found.shape == expected.shape
    assert found.indptr.tobytes() == expected.indptr.tobytes()
    assert found.indices.tobytes() == expected.indices.tobytes()
    assert found.data.tobytes() == expected.data.tobytes()


def test_real_batches_weigh_as_before(batches: list[tuple[Block, Any, Any]]) -> None:
    assert len(batches) >= 8
    sizes = set()
    for block, rows, strings in batches:
        if block.kind != "text":
            continue
        found = block.transform(rows, strings)
        sizes.add(found.nnz)
        _same(found, _plain_transform(block, rows, strings))
    assert len(sizes) > 4  # the scratch arrays are reused at many sizes, growing and not


_ROWS = st.lists(st.lists(st.integers(1, 40), max_size=30), max_size=12)


@settings(max_examples=200, deadline=None)
@given(_ROWS, _ROWS, st.booleans(), st.integers(1, 2))
def test_random_rows_weigh_as_before(train: list[list[int]], rows: list[list[int]],
                                     bigrams: bool, min_df: int) -> None:
    def arrays(values: list[list[int]]) -> list[numpy.ndarray]:
        return [numpy.asarray(row, dtype=numpy.uint64) for row in values]

    block = Block("text", bigrams=bigrams, min_df=min_df).fit(arrays(train) or arrays([[]]),
                                                               None)
    _same(block.transform(arrays(rows), None), _plain_transform(block, arrays(rows), None))
