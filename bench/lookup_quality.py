"""Benchmark: how well the lookup ranks the true prior ticket for a new one, beside plain FTS5.

    python -m bench.lookup_quality                 # dev and test
    python -m bench.lookup_quality --split dev     # only the split the ranking may be tuned on

The prior corpus is every ticket already in the repo: the 500 labelled tickets
(`extract/data/labelled/*.jsonl`) and `fixtures/tickets.jsonl`. They are redacted, stored and
extracted the way a sync does it, into a SQLite file in a temporary folder, and indexed once.
The queries are the hand-written new tickets of `fixtures/lookup/queries.jsonl`, each naming the
prior tickets that describe the same problem. Every query runs through fixedit's
`store.lookup.SearchIndex` and through a plain SQLite FTS5 table (one row per prior ticket:
title, description and notes; the query's words OR-ed; FTS5's default bm25() order). MRR, P@1
and Recall@5 are printed per split for both, then fixedit's scores per query style on dev.
fixtures/lookup/README.md describes the queries, the splits and how to read the numbers.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import re
import sqlite3
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

import store
from connectors import FileImport, FileImportSettings
from extract import Extractor, redact_ticket
from extract.labelled import load_labelled
from fixedit.pipeline import extract_pending
from records import ConfigError, Ticket
from store.lookup import LookupFilters, SearchIndex

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "fixtures" / "lookup" / "queries.jsonl"
FIXTURE_TICKETS = ROOT / "fixtures" / "tickets.jsonl"
SPLITS = ("dev", "test")
MIN_PER_SPLIT = 120
DEPTH = 10
"""How many results each ranker returns: a true match below rank 10 counts as not found."""
RECALL_AT = 5
EVERY_PRIOR = LookupFilters(outcomes=None, usable_only=False)
"""Every stored resolution is eligible: the queries name priors of every outcome and quality."""

Ranker = Callable[[str], list[str]]
"""Query text in, prior external ids out, best first."""


@dataclass(frozen=True)
class LookupQuery:
    """One hand-written incoming ticket and the prior tickets that describe the same problem."""

    id: str
    split: str
    title: str
    body: str
    relevant: tuple[str, ...]
    style: str

    @property
    def text(self) -> str:
        """What a ranker is given: title and body as an agent would pass them, markup and all."""
        return f"{self.title}\n\n{self.body}".strip()


@dataclass(frozen=True)
class Scores:
    """Mean metrics of one ranker over a set of queries."""

    n: int
    mrr: float
    p_at_1: float
    recall_at_5: float


def load_queries(path: Path = QUERIES) -> list[LookupQuery]:
    """The labelled queries; a malformed line is an error naming the line, not a skipped query."""
    queries: list[LookupQuery] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            data = json.loads(line)
            query = LookupQuery(
                id=str(data["id"]), split=str(data["split"]), title=str(data["title"]),
                body=str(data["body"]), relevant=tuple(str(item) for item in data["relevant"]),
                style=str(data["style"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(where, f"not a lookup query: {type(exc).__name__}: {exc}") from exc
        if query.split not in SPLITS:
            raise ConfigError(where, f"split must be one of {SPLITS}, not {query.split!r}")
        if not query.relevant:
            raise ConfigError(where, "a query needs at least one relevant prior")
        if query.id in seen:
            raise ConfigError(where, f"repeated query id {query.id!r}")
        seen.add(query.id)
        queries.append(query)
    return queries


def load_priors() -> list[Ticket]:
    """The prior corpus: the labelled tickets and the fixture tickets, as imported tickets."""
    report = load_labelled()
    if report.problems:
        raise ConfigError("extract/data/labelled", "; ".join(report.problems[:3]))
    tickets = [labelled.ticket for labelled in report.tickets]
    importer = FileImport(FileImportSettings(name="fixtures", path=FIXTURE_TICKETS,
                                             format="jsonl", timezone="UTC"))
    for batch in importer.pull("ticket", since=None):
        tickets.extend(item for item in batch.items if isinstance(item, Ticket))
    ids = [ticket.external_id for ticket in tickets]
    if len(ids) != len(set(ids)):
        raise ConfigError("priors", "external ids repeat across the prior corpus")
    return tickets


def build_store(tickets: Iterable[Ticket], folder: Path) -> tuple[sa.Engine, int]:
    """A SQLite store in `folder` holding `tickets` redacted, stored and extracted; (engine, n)."""
    engine = store.make_engine(f"sqlite:///{folder / 'lookup.db'}")
    store.migrate(engine)
    with store.session_scope(engine) as session:
        for ticket in tickets:
            clean, _ = redact_ticket(ticket)
            store.upsert_ticket(session, ticket=clean)
    extracted = extract_pending(engine, extractor=Extractor())
    return engine, extracted


def fixedit_ranker(engine: sa.Engine) -> tuple[Ranker, int]:
    """fixedit's lookup over the store, rebuilt once; (ranker, resolutions indexed)."""
    index = SearchIndex(engine)
    indexed = index.rebuild()

    def rank(text: str) -> list[str]:
        matches = index.search(text, filters=EVERY_PRIOR, limit=DEPTH)
        return _unique(match.resolution.ticket.external_id for match in matches)

    return rank, indexed


_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")


def plain_text(text: str) -> str:
    """Markup dropped and entities decoded: what a plain full-text baseline would index."""
    return html.unescape(_TAG.sub(" ", text))


def prior_text(ticket: Ticket) -> str:
    """One FTS5 row's text: title, description and every note of the (redacted) prior."""
    return "\n".join([ticket.title, ticket.description, *(note.text for note in ticket.notes)])


def fts_query(text: str) -> str:
    """The words of `text` OR-ed as FTS5 string literals (quotes doubled), so no word is syntax."""
    words = dict.fromkeys(word.lower() for word in _WORD.findall(plain_text(text)))
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def fts5_ranker(tickets: Iterable[Ticket]) -> Ranker:
    """The baseline: an in-memory FTS5 table over the same redacted prior text, bm25() order."""
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.execute("CREATE VIRTUAL TABLE prior USING fts5(external_id UNINDEXED, body)")
    connection.executemany(
        "INSERT INTO prior (external_id, body) VALUES (?, ?)",
        [(ticket.external_id, plain_text(prior_text(redact_ticket(ticket)[0])))
         for ticket in tickets])

    def rank(text: str) -> list[str]:
        expression = fts_query(text)
        if not expression:
            return []
        rows = connection.execute(
            "SELECT external_id FROM prior WHERE prior MATCH ? ORDER BY bm25(prior) LIMIT ?",
            (expression, DEPTH))
        return [row[0] for row in rows]

    return rank


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def reciprocal_rank(ranked: Sequence[str], relevant: Iterable[str]) -> float:
    """1/rank of the first relevant result; 0 when none was returned."""
    wanted = set(relevant)
    for position, external_id in enumerate(ranked, start=1):
        if external_id in wanted:
            return 1.0 / position
    return 0.0


def precision_at_1(ranked: Sequence[str], relevant: Iterable[str]) -> float:
    """1 when the top result is a true match, else 0."""
    return 1.0 if ranked and ranked[0] in set(relevant) else 0.0


def recall_at(ranked: Sequence[str], relevant: Iterable[str], k: int = RECALL_AT) -> float:
    """The share of the true matches found in the top `k`."""
    wanted = set(relevant)
    if not wanted:
        raise ValueError("recall needs at least one relevant id")
    return len(wanted & set(ranked[:k])) / len(wanted)


def score(runs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> Scores:
    """Mean MRR, P@1 and Recall@5 over (ranked, relevant) pairs."""
    n = len(runs)
    if not n:
        return Scores(0, 0.0, 0.0, 0.0)
    return Scores(
        n=n,
        mrr=sum(reciprocal_rank(ranked, relevant) for ranked, relevant in runs) / n,
        p_at_1=sum(precision_at_1(ranked, relevant) for ranked, relevant in runs) / n,
        recall_at_5=sum(recall_at(ranked, relevant) for ranked, relevant in runs) / n,
    )


METRICS = (("MRR@10", "mrr"), ("P@1", "p_at_1"), ("Recall@5", "recall_at_5"))


def _results_table(title: str, rows: Sequence[tuple[str, str, Scores]]) -> Table:
    table = Table(title=title)
    for column in ("split", "ranker", "n", *(name for name, _ in METRICS)):
        table.add_column(column, justify="left" if column in ("split", "ranker") else "right")
    for split, ranker, scores in rows:
        table.add_row(split, ranker, str(scores.n),
                      *(f"{getattr(scores, field):.3f}" for _, field in METRICS))
    return table


def run(splits: Sequence[str], console: Console) -> bool:
    """Build, rank, print; True when fixedit beats FTS5 on every metric of every split run."""
    queries = [query for query in load_queries() if query.split in splits]
    priors = load_priors()
    known = {ticket.external_id for ticket in priors}
    missing = sorted({i for query in queries for i in query.relevant} - known)
    if missing:
        raise ConfigError("queries", f"relevant ids not in the prior corpus: {missing[:5]}")
    with tempfile.TemporaryDirectory(prefix="fixedit-lookup-") as folder:
        engine, extracted = build_store(priors, Path(folder))
        try:
            rank_fixedit, indexed = fixedit_ranker(engine)
            rank_fts = fts5_ranker(priors)
            console.print(f"priors: {len(priors)} tickets, {extracted} extracted, {indexed} "
                          f"indexed by fixedit; queries: {len(queries)}")
            if extracted < len(priors):
                console.print(f"[yellow]warning:[/yellow] {len(priors) - extracted} priors could "
                              "not be extracted, so fixedit cannot return them (-v shows why)")
            ranked = {
                "fixedit": {query.id: rank_fixedit(query.text) for query in queries},
                "fts5": {query.id: rank_fts(query.text) for query in queries},
            }
        finally:
            engine.dispose()
    rows: list[tuple[str, str, Scores]] = []
    results: dict[tuple[str, str], Scores] = {}
    for split in splits:
        chosen = [query for query in queries if query.split == split]
        for ranker in ("fixedit", "fts5"):
            scores = score([(ranked[ranker][q.id], q.relevant) for q in chosen])
            results[split, ranker] = scores
            rows.append((split, ranker, scores))
    console.print(_results_table("lookup quality (true prior among the top 10)", rows))
    passed = True
    for name, field in METRICS:
        wins = [getattr(results[s, "fixedit"], field) > getattr(results[s, "fts5"], field)
                for s in splits]
        passed &= all(wins)
        console.print(f"{'PASS' if all(wins) else 'FAIL'}  {name}: fixedit beats FTS5 on "
                      f"{' and '.join(splits)}")
    if "dev" in splits:
        console.print(_style_table([q for q in queries if q.split == "dev"], ranked))
    return passed


def _style_table(queries: Sequence[LookupQuery],
                 ranked: dict[str, dict[str, list[str]]]) -> Table:
    """Per query style on dev: where the ranking is weak (the baseline beside it)."""
    by_style: dict[str, list[LookupQuery]] = defaultdict(list)
    for query in queries:
        by_style[query.style].append(query)
    table = Table(title="dev by query style (fixedit | fts5)")
    for column in ("style", "n", *(name for name, _ in METRICS)):
        table.add_column(column, justify="left" if column == "style" else "right")
    for style in sorted(by_style):
        chosen = by_style[style]
        ours = score([(ranked["fixedit"][q.id], q.relevant) for q in chosen])
        theirs = score([(ranked["fts5"][q.id], q.relevant) for q in chosen])
        table.add_row(style, str(len(chosen)),
                      *(f"{getattr(ours, f):.3f} | {getattr(theirs, f):.3f}" for _, f in METRICS))
    return table


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; exit status 1 when fixedit does not beat the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "both"), default="both",
                        help="which queries to run (default both)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the log (e.g. priors the extractor could not read)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    splits = SPLITS if args.split == "both" else (args.split,)
    console = Console()
    try:
        passed = run(splits, console)
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
