"""A first, keyword-based categoriser over the MSP taxonomy in ``data/categories.json``.

Categories: email, accounts_access, onboarding, network, remote_access, printing, hardware,
software, security, backup, server, phone_voip, mobile_device, performance, collaboration,
operating_system, other. Each has a label, a description, keywords and "strong" keywords that
count double; see the data file. The trained category model (`extract.classifiers`) reads this
keyword vote as one of its features; `extract.assemble` decides between them.
"""

from __future__ import annotations

import re
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


_Votes = tuple[tuple[str, int], ...]


@cache
def _keywords() -> tuple[dict[str, _Votes], dict[str, tuple[_Votes, tuple[int, ...]]]]:
    """Keyword -> (category, weight) votes; and for each word a keyword starts with, the votes
    of that word alone (when it is a keyword) and the lengths (in words) of the longer keywords
    starting with it, so a lookup tries only n-grams that exist.

    A strong keyword counts twice.
    """
    owners: dict[str, list[tuple[str, int]]] = {}
    for category in taxonomy():
        strong = {_phrase(word) for word in category.strong}
        for keyword in category.keywords:
            phrase = _phrase(keyword)
            owners.setdefault(phrase, []).append((category.id, 2 if phrase in strong else 1))
    sizes: dict[str, set[int]] = {}
    for keyword in owners:
        sizes.setdefault(keyword.split(" ", 1)[0], set()).add(keyword.count(" ") + 1)
    votes = {word: tuple(found) for word, found in owners.items()}
    starts = {word: (votes.get(word, ()) if 1 in lengths else (),
                     tuple(sorted(length for length in lengths if length > 1)))
              for word, lengths in sizes.items()}
    return votes, starts


@cache
def _order() -> dict[str, int]:
    """Each category's place in the taxonomy (an earlier category wins a tie)."""
    return {category.id: index for index, category in enumerate(taxonomy())}


def _hits(text: str) -> dict[str, int]:
    """The weighted keyword votes for each category in `text` (word n-gram lookups)."""
    owners, starts = _keywords()
    if "[REDACTED:" in text:
        text = MARKER_PATTERN.sub(" ", text)
    words = _WORD.findall(text.lower())
    # A plain dict (a Counter costs a Python-level constructor per text), filled word by word:
    # a word's own votes, then those of the longer keywords it starts.
    hits: dict[str, int] = {}
    count = len(words)
    start_of = starts.get
    for index, word in enumerate(words):
        start = start_of(word)
        if start is None:
            continue
        alone, longer = start
        for category_id, weight in alone:
            hits[category_id] = hits.get(category_id, 0) + weight
        for size in longer:
            if index + size > count:
                break
            for category_id, weight in owners.get(" ".join(words[index:index + size]), ()):
                hits[category_id] = hits.get(category_id, 0) + weight
    return hits


def categorise(texts: Iterable[tuple[str, float]],
               product_votes: Iterable[tuple[str, float]] = ()) -> str:
    """The best category id for weighted texts and weighted (category, weight) product votes,
    one vote per product mention."""
    scores: dict[str, float] = {}
    for text, weight in texts:
        if weight:
            for category_id, count in _hits(text).items():
                scores[category_id] = scores.get(category_id, 0) + weight * min(count, 6)
    for category_id, weight in product_votes:
        scores[category_id] = scores.get(category_id, 0) + weight
    if not scores:
        return OTHER
    order = _order()
    best, score = max(scores.items(), key=lambda item: (item[1], -order.get(item[0], 99)))
    return best if score >= _MIN_SCORE else OTHER
