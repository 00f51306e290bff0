"""The search tokenizer, and a small SQL-only search kept for callers without an index.

`tokenize` is shared by the stored search text and by the lookup index (`store.index`).

`search_resolutions` is the first lexical search: BM25 scored in Python over SQL-prefetched
candidates. `ResolutionRow.search_text` holds the lower-cased tokens of the searchable fields,
space-padded (" tok1 tok2 "), so ``LIKE '% tok %'`` is an exact token match on SQLite and
PostgreSQL alike. It scans the table on every call: fine for a script or a test over a small
store, far too slow for lookups at scale. Lookups go through `store.lookup.SearchIndex`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, case, col, func, select

from records import EvidencedText, Outcome, Resolution
from store.tables import ResolutionRow

K1 = 1.2
B = 0.75
RESOLVED_BOOST = 1.1
"""Score multiplier for resolutions whose outcome is "resolved"."""
MAX_QUERY_TERMS = 64
MAX_CANDIDATES = 2_000

# Runs of letters/digits, optionally joined by - _ . (error codes such as C1900101-0x20017).
RUN_PATTERN = re.compile(r"[^\W_]+(?:[-_.][^\W_]+)*")
"""What `tokenize` splits text into before it looks at each run."""
_RUN = RUN_PATTERN
_SEPARATORS = re.compile(r"[-_.]")
_HEX_CODE = re.compile(r"0x([0-9a-f]{4,16})")
_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "did", "do", "does",
    "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is",
    "it", "its", "me", "my", "no", "not", "of", "on", "or", "our", "she", "so", "that", "the",
    "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were", "what",
    "when", "where", "which", "who", "why", "will", "with", "you", "your",
})


@dataclass(frozen=True)
class SearchHit:
    """One search result: the resolution and its relevance score (higher is better)."""

    resolution: Resolution
    score: float


def tokenize(text: str) -> list[str]:
    """Lower-cased search tokens: words and numbers, with error-code-like tokens kept whole.

    A hex code ``0x80070005`` also yields ``80070005`` so either spelling finds it; a joined
    code such as ``c1900101-0x20017`` yields itself and its parts.
    """
    tokens: list[str] = []
    for match in _RUN.finditer(text.lower()):
        run = match.group()
        parts = _SEPARATORS.split(run)
        if len(parts) > 1 and any(ch.isdigit() for ch in run) and len(run) <= 64:
            tokens.append(run)
        for part in parts:
            if part in _STOPWORDS or (len(part) == 1 and not part.isdigit()):
                continue
            tokens.append(part)
            hex_code = _HEX_CODE.fullmatch(part)
            if hex_code:
                tokens.append(hex_code.group(1))
    return tokens


def resolution_tokens(resolution: Resolution) -> list[str]:
    """The tokens a resolution is found by: title, problem, symptoms, cause, steps, products,
    error codes and KB references."""
    texts = [resolution.title.text]
    texts.extend(_texts(resolution.problem, resolution.cause))
    for items in (resolution.symptoms, resolution.steps, resolution.products,
                  resolution.error_codes, resolution.kb_refs):
        texts.extend(item.text for item in items)
    return [token for text in texts for token in tokenize(text)]


def search_text(tokens: Iterable[str]) -> str:
    """The stored form of a token list: space-separated and space-padded."""
    return " " + " ".join(tokens) + " "


def search_resolutions(
    session: Session,
    *,
    query: str,
    limit: int = 10,
    source: str | None = None,
    usable_only: bool = False,
    outcomes: Collection[str] | None = None,
) -> list[SearchHit]:
    """Resolutions ranked by BM25 relevance to `query`, best first; [] for a blank query.

    `outcomes` keeps only resolutions with one of those outcomes (e.g. resolved, workaround).
    """
    terms = list(dict.fromkeys(tokenize(query)))[:MAX_QUERY_TERMS]
    if not terms or limit <= 0:
        return []
    scope: list[ColumnElement[bool]] = []
    if source is not None:
        scope.append(col(ResolutionRow.source) == source)
    if usable_only:
        scope.append(col(ResolutionRow.usable).is_(True))
    if outcomes is not None:
        scope.append(col(ResolutionRow.outcome).in_(list(outcomes)))

    stats = session.exec(
        select(func.count(), func.avg(col(ResolutionRow.search_length)),
               *(func.coalesce(func.sum(case((_has(term), 1), else_=0)), 0) for term in terms))
        .where(*scope)
    ).one()
    total, avg_length = int(stats[0]), float(stats[1] or 0.0)
    freq = {term: int(n) for term, n in zip(terms, stats[2:], strict=True) if n}
    if not total or not freq:
        return []

    scores: dict[int, float] = {}
    for row_id, text, length, outcome in _candidates(session, freq, scope):
        counts = Counter(text.split())
        score = sum(
            _idf(total, df) * _saturate(counts[term], length, avg_length)
            for term, df in freq.items()
            if counts[term]
        )
        if score > 0:
            scores[row_id] = score * (RESOLVED_BOOST if outcome == Outcome.RESOLVED else 1.0)
    best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
    payloads = dict(session.exec(
        select(ResolutionRow.id, ResolutionRow.payload)
        .where(col(ResolutionRow.id).in_([row_id for row_id, _ in best]))
    ).all())
    # A row retracted by a concurrent transaction since it was scored is simply left out.
    return [SearchHit(resolution=Resolution.model_validate_json(payloads[row_id]), score=score)
            for row_id, score in best if row_id in payloads]


def _candidates(
    session: Session, freq: dict[str, int], scope: list[ColumnElement[bool]]
) -> Iterator[tuple[int, str, int, str]]:
    """Rows holding at least one query term, rarest terms first, at most MAX_CANDIDATES."""
    seen: set[int] = set()
    for term in sorted(freq, key=lambda t: (freq[t], t)):
        room = MAX_CANDIDATES - len(seen)
        if room <= 0:
            return
        stmt = (
            select(ResolutionRow.id, ResolutionRow.search_text, ResolutionRow.search_length,
                   ResolutionRow.outcome)
            .where(_has(term), *scope)
            .order_by(col(ResolutionRow.id).desc())
            .limit(room + len(seen))
        )
        for row in session.exec(stmt):
            if row[0] not in seen and len(seen) < MAX_CANDIDATES:
                seen.add(row[0])
                yield row[0], row[1], row[2], row[3]


def _has(term: str) -> ColumnElement[bool]:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return col(ResolutionRow.search_text).like(f"% {escaped} %", escape="\\")


def _idf(total: int, df: int) -> float:
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))


def _saturate(tf: int, length: int, avg_length: float) -> float:
    norm = 1.0 - B + B * (length / avg_length if avg_length else 1.0)
    return tf * (K1 + 1.0) / (tf + K1 * norm)


def _texts(*items: EvidencedText | None) -> Iterator[str]:
    for item in items:
        if item is not None:
            yield item.text
