"""A first, keyword-based categoriser over the MSP taxonomy in ``data/categories.json``.

Categories: email, accounts_access, onboarding, network, remote_access, printing, hardware,
software, security, backup, server, phone_voip, mobile_device, performance, collaboration,
operating_system, other. Each has a label, a description and keywords; see the data file. A later
issue replaces the scoring with a trained classifier over the same ids.
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
_PRODUCT_VOTE = 2.0


@dataclass(frozen=True)
class Category:
    """One category of the taxonomy."""

    id: str
    label: str
    description: str
    keywords: tuple[str, ...]


@cache
def taxonomy() -> tuple[Category, ...]:
    """The categories in file order (earlier wins a tie)."""
    return tuple(Category(entry["id"], entry["label"], entry["description"],
                          tuple(entry["keywords"]))
                 for entry in load_json("categories.json")["categories"])


_WORD = re.compile(r"[a-z0-9]+(?:['/-][a-z0-9]+)*%?")


@cache
def _keywords() -> tuple[dict[str, tuple[str, ...]], frozenset[str], int]:
    """Keyword -> the categories it votes for; the words keywords start with; the longest."""
    owners: dict[str, list[str]] = {}
    for category in taxonomy():
        for keyword in category.keywords:
            owners.setdefault(" ".join(_WORD.findall(keyword.lower())), []).append(category.id)
    firsts = frozenset(keyword.split(" ", 1)[0] for keyword in owners)
    longest = max((keyword.count(" ") + 1 for keyword in owners), default=1)
    return {word: tuple(ids) for word, ids in owners.items()}, firsts, longest


def _hits(text: str) -> Counter[str]:
    """How many keyword occurrences of each category `text` holds (word n-gram lookups)."""
    owners, firsts, longest = _keywords()
    words = _WORD.findall(MARKER_PATTERN.sub(" ", text).lower())
    hits: Counter[str] = Counter()
    for index, word in enumerate(words):
        if word not in firsts:
            continue
        for size in range(1, longest + 1):
            for category_id in owners.get(" ".join(words[index:index + size]), ()):
                hits[category_id] += 1
    return hits


def categorise(texts: Iterable[tuple[str, float]], product_categories: Iterable[str] = ()) -> str:
    """The best category id for weighted texts and the categories of the products named."""
    scores: Counter[str] = Counter()
    for text, weight in texts:
        if weight:
            for category_id, count in _hits(text).items():
                scores[category_id] += weight * min(count, 3)
    for category_id in set(product_categories):
        scores[category_id] += _PRODUCT_VOTE
    if not scores:
        return OTHER
    order = {category.id: index for index, category in enumerate(taxonomy())}
    best, score = max(scores.items(), key=lambda item: (item[1], -order.get(item[0], 99)))
    return best if score >= _MIN_SCORE else OTHER
