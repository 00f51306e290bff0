"""The lookup-quality bench: its labelled queries are sound and its metrics are computed right.

The ranking quality itself is the bench's verdict (`python -m bench.lookup_quality`), not a test.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from bench.lookup_quality import (
    MIN_PER_SPLIT,
    LookupQuery,
    build_store,
    fixedit_ranker,
    fts5_ranker,
    fts_query,
    load_priors,
    load_queries,
    plain_text,
    precision_at_1,
    recall_at,
    reciprocal_rank,
    score,
)
from records import ConfigError, Ticket
from store import get_ticket, session_scope


@pytest.fixture(scope="module")
def queries() -> list[LookupQuery]:
    return load_queries()


@pytest.fixture(scope="module")
def priors() -> dict[str, Ticket]:
    return {ticket.external_id: ticket for ticket in load_priors()}


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", plain_text(text).lower()))


def test_prior_corpus_is_the_labelled_tickets_and_the_fixtures(priors: dict[str, Ticket]) -> None:
    assert len(priors) == 500 + 79
    assert {"LA-001", "LE-100", "T20240108.0014"} <= set(priors)


def test_query_ids_unique_and_splits_big_enough(queries: list[LookupQuery]) -> None:
    ids = [query.id for query in queries]
    assert len(ids) == len(set(ids))
    sizes = Counter(query.split for query in queries)
    assert set(sizes) == {"dev", "test"}
    assert sizes["dev"] >= MIN_PER_SPLIT
    assert sizes["test"] >= MIN_PER_SPLIT


def test_every_relevant_prior_exists(queries: list[LookupQuery],
                                     priors: dict[str, Ticket]) -> None:
    missing = {(query.id, ext) for query in queries for ext in query.relevant
               if ext not in priors}
    assert not missing


def test_no_query_repeats_a_relevant_prior_title(queries: list[LookupQuery],
                                                 priors: dict[str, Ticket]) -> None:
    same = [(query.id, ext) for query in queries for ext in query.relevant
            if _words(query.title) == _words(priors[ext].title)]
    assert not same


def test_no_query_copies_a_prior_description(queries: list[LookupQuery],
                                             priors: dict[str, Ticket]) -> None:
    copied = [(query.id, ext) for query in queries for ext in query.relevant
              if len(_words(priors[ext].description)) > 40
              and _words(priors[ext].description) in _words(query.body)]
    assert not copied


def test_queries_are_varied(queries: list[LookupQuery]) -> None:
    styles = Counter(query.style for query in queries)
    assert styles["forum_html"] >= 0.3 * len(queries)
    assert all(re.search(r"<(p|br|code|pre|div|ul|blockquote)\b", query.body)
               for query in queries if query.style == "forum_html")
    assert len(styles) >= 6
    relevant = {ext for query in queries for ext in query.relevant}
    assert len(relevant) >= 200


def test_malformed_query_file_names_the_line(tmp_path: Path) -> None:
    good = {"id": "q1", "split": "dev", "title": "t", "body": "b", "relevant": ["LA-001"],
            "style": "terse"}
    path = tmp_path / "queries.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "id": "q2", "split": "train"})
                    + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"queries.jsonl:2.*split"):
        load_queries(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="repeated query id"):
        load_queries(path)
    path.write_text(json.dumps({**good, "relevant": []}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="at least one relevant"):
        load_queries(path)
    path.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"queries.jsonl:1"):
        load_queries(path)


def test_reciprocal_rank() -> None:
    assert reciprocal_rank(["a", "b", "c"], ["a"]) == 1.0
    assert reciprocal_rank(["x", "y", "b"], ["b", "z"]) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x", "b", "a"], ["a", "b"]) == 0.5
    assert reciprocal_rank(["x", "y"], ["a"]) == 0.0
    assert reciprocal_rank([], ["a"]) == 0.0


def test_precision_at_1() -> None:
    assert precision_at_1(["a", "b"], ["a"]) == 1.0
    assert precision_at_1(["b", "a"], ["a"]) == 0.0
    assert precision_at_1([], ["a"]) == 0.0


def test_recall_at_5() -> None:
    ranked = ["x1", "a", "x2", "x3", "x4", "b"]
    assert recall_at(ranked, ["a", "b"]) == 0.5
    assert recall_at(ranked, ["a", "b"], k=6) == 1.0
    assert recall_at(ranked, ["c"]) == 0.0
    with pytest.raises(ValueError):
        recall_at(ranked, [])


def test_score_is_the_mean_over_queries() -> None:
    runs = [
        (["a", "b"], ["a"]),  # RR 1, P@1 1, R@5 1
        (["x", "y", "b"], ["b"]),  # RR 1/3, P@1 0, R@5 1
        (["x1", "x2", "x3", "x4", "x5", "c"], ["c", "d"]),  # RR 1/6, P@1 0, R@5 0
    ]
    scores = score(runs)
    assert scores.n == 3
    assert scores.mrr == pytest.approx((1 + 1 / 3 + 1 / 6) / 3)
    assert scores.p_at_1 == pytest.approx(1 / 3)
    assert scores.recall_at_5 == pytest.approx(2 / 3)
    assert score([]).n == 0


def test_fts_query_quotes_every_word_so_nothing_is_syntax() -> None:
    expression = fts_query('<p>NEAR "OR" AND c:\\ x*</p> col:1 &amp; 550')
    assert expression == '"near" OR "or" OR "and" OR "c" OR "x" OR "col" OR "1" OR "550"'
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
    connection.execute("SELECT * FROM t WHERE t MATCH ?", (expression,)).fetchall()
    assert fts_query("<br>&nbsp;") == ""


def test_fts5_baseline_ranks_by_bm25(priors: dict[str, Ticket]) -> None:
    rank = fts5_ranker([priors["LE-047"], priors["LA-001"], priors["LA-002"]])
    assert rank("Ricoh copier shows SC542") == ["LE-047"]
    assert rank("<p></p>") == []


def test_store_is_built_the_way_a_sync_builds_it(priors: dict[str, Ticket],
                                                 tmp_path: Path) -> None:
    chosen = [priors["LE-047"], priors["LA-001"], priors["T20240108.0014"]]
    engine, extracted = build_store(chosen, tmp_path)
    try:
        assert extracted == 3
        with session_scope(engine) as session:
            stored = get_ticket(session, source="fixtures", external_id="T20240108.0014")
        assert stored is not None
        rank, indexed = fixedit_ranker(engine)
        assert indexed == 3
        assert set(rank("copier SC542 QuickBooks H202 disk space")) <= {
            "LE-047", "LA-001", "T20240108.0014"}
    finally:
        engine.dispose()
