"""`classifiers._vote_keys` hands out one shared tuple per distinct votes text (the category
model's tokens block knows its rows by identity): the keys its plain form read, and the same
object each time, on the real tickets' rows and on random texts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from extract import classifiers
from extract.analysis import Analysis
from extract.assemble import category_inputs
from extract.features import key


def _plain_vote_keys(votes: str) -> tuple[int, ...]:
    return tuple(map(key, votes.split()))


def test_real_rows_vote_as_before(corpus_analyses: tuple[Analysis, ...]) -> None:
    for analysis in corpus_analyses:
        votes = category_inputs(analysis)[2]
        found = classifiers._vote_keys(votes)
        assert found == _plain_vote_keys(votes)
        assert classifiers._vote_keys("".join(votes)) is found  # an equal text, another object


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="rule=product_ abc\t\n", max_size=40))
def test_random_votes_read_as_before(votes: str) -> None:
    found = classifiers._vote_keys(votes)
    assert found == _plain_vote_keys(votes)
    assert classifiers._vote_keys(votes) is found


def test_the_shared_tuples_are_bounded() -> None:
    for number in range(classifiers._VOTES_LIMIT + 10):
        classifiers._vote_keys(f"rule=r{number}")
    assert len(classifiers._VOTES) <= classifiers._VOTES_LIMIT + 1
    assert classifiers._vote_keys("rule=r1") == _plain_vote_keys("rule=r1")
