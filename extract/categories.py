"""A first, keyword-based categoriser over the MSP taxonomy in ``data/categories.json``.

Categories: email, accounts_access, onboarding, network, remote_access, printing, hardware,
software, security, backup, server, phone_voip, mobile_device, performance, collaboration,
operating_system, other. Each has a label, a description, keywords and "strong" keywords that
count double; see the data file. The trained category model (`extract.classifiers`) reads this
keyword vote as one of its features; `extract.assemble` decides between them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from extract.lexicon import load_json
from extract.redact import MARKER_PATTERN

__all__ = ["OTHER", "Category", "categorise", "taxonomy"]

OTHER = "other"
_MIN_SCORE = 2.0


@dataclass(frozen=True)
class Category:
    """One category of the taxonomy."""

    id: str
    label: str
    description: str
    keywords: tuple[str, ...]
    strong: tuple[str, ...] = ()


@cache
def taxonomy() -> tuple[Category, ...]:
    """The categories in file order (earlier wins a tie)."""
    return tuple(Category(entry["id"], entry["label"], entry["description"],
                          tuple(entry["keywords"]), tuple(entry.get("strong", ())))
                 for entry in load_json("categories.json")["categories"])


_WORD = re.compile(r"[a-z0-9]+(?:['/-][a-z0-9]+)*%?")


def _phrase(keyword: str) -> str:
    return " ".join(_WORD.findall(keyword.lower()))


@cache
def _keywords() -> tuple[dict[str, tuple[tuple[str, int], ...]], frozenset[str], int]:
    """Keyword -> (category, weight) votes; the words keywords start with; the longest, in words.

    A strong keyword counts twice.
    """
    owners: dict[str, list[tuple[str, int]]] = {}
    for category in taxonomy():
        strong = {_phrase(word) for word in category.strong}
        for keyword in category.keywords:
            phrase = _phrase(keyword)
            owners.setdefault(phrase, []).append((category.id, 2 if phrase in strong else 1))
    firsts = frozenset(keyword.split(" ", 1)[0] for keyword in owners)
    longest = max((keyword.count(" ") + 1 for keyword in owners), default=1)
    return {word: tuple(votes) for word, votes in owners.items()}, firsts, longest


def _hits(text: str) -> Counter[str]:
    """The weighted keyword votes for each category in `text` (word n-gram lookups)."""
    owners, firsts, longest = _keywords()
    words = _WORD.findall(MARKER_PATTERN.sub(" ", text).lower())
    hits: Counter[str] = Counter()
    for index, word in enumerate(words):
        if word not in firsts:
            continue
        for size in range(1, min(longest, len(words) - index) + 1):
            for category_id, weight in owners.get(" ".join(words[index:index + size]), ()):
                hits[category_id] += weight
    return hits


def categorise(texts: Iterable[tuple[str, float]],
               product_votes: Iterable[tuple[str, float]] = ()) -> str:
    """The best category id for weighted texts and weighted (category, weight) product votes,
    one vote per product mention."""
    scores: Counter[str] = Counter()
    for text, weight in texts:
        if weight:
            for category_id, count in _hits(text).items():
                scores[category_id] += weight * min(count, 6)
    for category_id, weight in product_votes:
        scores[category_id] += weight
    if not scores:
        return OTHER
    order = {category.id: index for index, category in enumerate(taxonomy())}
    best, score = max(scores.items(), key=lambda item: (item[1], -order.get(item[0], 99)))
    return best if score >= _MIN_SCORE else OTHER
