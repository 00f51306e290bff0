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
from itertools import compress

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
# Each byte to itself when `_WORD` can match it, else to a space. A match of `_WORD` never
# holds any other character, so the words of a lowercase ASCII text are those of the text after
# this table. And a word is a space-separated token of it once `_LONE_MARKS` blanked the marks
# no word holds and a space follows each "%" left: every letter or digit lies in a word; an
# apostrophe, slash or hyphen does exactly when a letter or digit stands on both sides (the
# greedy repeat then always takes it), and a "%" exactly when one stands before it (it ends the
# word, which runs up to it).
_TOKEN_BYTES = bytes(byte if chr(byte) in "abcdefghijklmnopqrstuvwxyz0123456789'/%-" else 32
                     for byte in range(256))
# (Written to open with the marks' class, so `re` skips in C to the next mark; each branch then
# looks back at the mark matched and what stands before it.)
_LONE_MARKS = re.compile(rb"['/%-](?:(?<![a-z0-9].)['/%-]*|(?<=['/-])(?![a-z0-9]))")
_HYPHEN, _APOSTROPHE, _SLASH, _PERCENT = b"-'/%"


def _phrase(keyword: str) -> str:
    return " ".join(_WORD.findall(keyword.lower()))


_Votes = tuple[tuple[str, int], ...]


@cache
def _keywords() -> tuple[dict[bytes, _Votes],
                         dict[bytes, tuple[_Votes, dict[bytes, tuple[int, ...]]]]]:
    """Keyword -> (category, weight) votes; and for each word a keyword starts with, the votes
    of that word alone (when it is a keyword) and, by the second word of its longer keywords,
    their lengths (in words), so a lookup tries only n-grams that exist and whose second word
    is there: on the bench corpus a ticket has about 10 keyword starts with longer keywords,
    and one of them is followed by a second word of those (categorise 42 -> 40 us a ticket).

    A strong keyword counts twice. Keywords are ASCII-encoded (every `_WORD` is ASCII), as
    `_words` gives the words of a text.
    """
    owners: dict[str, list[tuple[str, int]]] = {}
    for category in taxonomy():
        strong = {_phrase(word) for word in category.strong}
        for keyword in category.keywords:
            phrase = _phrase(keyword)
            owners.setdefault(phrase, []).append((category.id, 2 if phrase in strong else 1))
    alone: dict[str, bool] = {}
    longer: dict[str, dict[str, set[int]]] = {}
    for keyword in owners:
        words = keyword.split(" ")
        alone[words[0]] = alone.get(words[0], False) or len(words) == 1
        follows = longer.setdefault(words[0], {})
        if len(words) > 1:
            follows.setdefault(words[1], set()).add(len(words))
    votes = {word.encode(): tuple(found) for word, found in owners.items()}
    starts = {word.encode(): (votes[word.encode()] if alone[word] else (),
                              {second.encode(): tuple(sorted(lengths))
                               for second, lengths in longer[word].items()})
              for word in alone}
    return votes, starts


@cache
def _order() -> dict[str, int]:
    """Each category's place in the taxonomy (an earlier category wins a tie)."""
    return {category.id: index for index, category in enumerate(taxonomy())}


def _words(text: str) -> list[bytes]:
    """``_WORD.findall(text.lower())``, each word ASCII-encoded.

    For ASCII text from a byte translation, at most two substitutions and a split (see
    `_TOKEN_BYTES`): less than half the cost of the regex, which makes a string per match."""
    lowered = text.lower()
    if not lowered.isascii():  # rare: the regex, on the text as it is ("K" lowers to "k")
        return [word.encode() for word in _WORD.findall(lowered)]
    tokens = lowered.encode().translate(_TOKEN_BYTES)
    # Each mark looked for as a byte value: `bytes in bytes` first tries the needle as an int,
    # and raises and clears a TypeError for each (several times the cost of the search).
    if _HYPHEN in tokens or _APOSTROPHE in tokens or _SLASH in tokens or _PERCENT in tokens:
        tokens = _LONE_MARKS.sub(b" ", tokens)
        if _PERCENT in tokens:
            tokens = tokens.replace(b"%", b"% ")
    return tokens.split()


def _hits(text: str) -> dict[str, int]:
    """The weighted keyword votes for each category in `text` (word n-gram lookups)."""
    owners, starts = _keywords()
    if "[REDACTED:" in text:
        text = MARKER_PATTERN.sub(" ", text)
    words = _words(text)
    # A plain dict (a Counter costs a Python-level constructor per text), filled word by word:
    # a word's own votes, then those of the longer keywords it starts. Only the words that
    # start a keyword are visited, picked out without a Python step per word (most are none).
    hits: dict[str, int] = {}
    count = len(words)
    for index in compress(range(count), map(starts.__contains__, words)):
        alone, longer = starts[words[index]]
        for category_id, weight in alone:
            hits[category_id] = hits.get(category_id, 0) + weight
        if longer and index + 1 < count and (sizes := longer.get(words[index + 1])):
            for size in sizes:
                if index + size > count:
                    break
                for category_id, weight in owners.get(b" ".join(words[index:index + size]),
                                                      ()):
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
