"""Case-insensitive patterns that run a faster case-sensitive twin on lowercase ASCII text.

Python's `re` pays for ``IGNORECASE`` on every character it compares, and the cue patterns are
large alternations run on every segment: their case-sensitive twin is two to eight times faster.
Most texts they see are already lowercased by `extract.roles.normalise`. On text that is ASCII and
has no uppercase letter, a pattern whose own letters are all lowercase matches exactly what its
``IGNORECASE`` form matches (the Unicode case folds, such as "K" for "k" and "ſ" for "s", are not
ASCII), so `CasePattern` picks the twin there and the ``IGNORECASE`` form everywhere else.

A pattern may also carry a *gate*: literals at least one of which every match contains ("work",
"fixed", ... for "it works now" / "fixed"). On lowercase ASCII text `search` first looks for a
literal, a plain alternation that `re` scans many times faster than the pattern, and skips the
pattern when none is there. Most cues match few segments, so most searches stop at the gate.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator

__all__ = ["CasePattern"]

# What in a pattern is not a literal letter: escapes ("\S", "\Z") and group names.
_NOT_LETTERS = re.compile(r"\\.|\(\?P[<=]\w+>?|\(\?[a-zA-Z]+[:)]")


def _all_lowercase(pattern: str) -> bool:
    """True when no letter the pattern matches literally (or in a class) is uppercase."""
    return not any(c.isupper() for c in _NOT_LETTERS.sub("", pattern))


class CasePattern:
    """A compiled ``IGNORECASE`` pattern with the `re.Pattern` methods the rules use.

    `gate`: lowercase ASCII literals, one of which is in every match of `pattern` (the caller's
    promise, checked by tests/extract/test_cues.py over the labelled and sandbox texts)."""

    __slots__ = ("exact", "folded", "gate", "pattern")

    def __init__(self, pattern: str, flags: int = 0, *, gate: tuple[str, ...] = ()) -> None:
        self.pattern = pattern
        self.folded = re.compile(pattern, flags | re.IGNORECASE)
        self.exact = re.compile(pattern, flags) if _all_lowercase(pattern) else self.folded
        if any(not literal or not literal.isascii() or literal != literal.lower()
               for literal in gate):
            raise ValueError(f"gate literals must be non-empty lowercase ASCII: {gate!r}")
        # Only sound where `exact` runs on lowercase text and differs from `folded`.
        self.gate = (re.compile("|".join(map(re.escape, sorted(gate, key=len, reverse=True))))
                     if gate and self.exact is not self.folded else None)

    def _for(self, text: str) -> re.Pattern[str]:
        return self.exact if text.isascii() and text.islower() else self.folded

    def search(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        """`re.Pattern.search` (after the gate, on lowercase ASCII text)."""
        if text.isascii() and text.islower():
            if self.gate is not None and self.gate.search(text, pos, endpos) is None:
                return None
            return self.exact.search(text, pos, endpos)
        return self.folded.search(text, pos, endpos)

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        """`re.Pattern.match` (after the gate, on lowercase ASCII text)."""
        if text.isascii() and text.islower():
            if self.gate is not None and self.gate.search(text, pos, endpos) is None:
                return None
            return self.exact.match(text, pos, endpos)
        return self.folded.match(text, pos, endpos)

    def fullmatch(self, text: str, pos: int = 0,
                  endpos: int = sys.maxsize) -> re.Match[str] | None:
        """`re.Pattern.fullmatch`."""
        return self._for(text).fullmatch(text, pos, endpos)

    def finditer(self, text: str, pos: int = 0,
                 endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        """`re.Pattern.finditer`."""
        return self._for(text).finditer(text, pos, endpos)

    def sub(self, repl: str | Callable[[re.Match[str]], str], text: str, count: int = 0) -> str:
        """`re.Pattern.sub`."""
        return self._for(text).sub(repl, text, count)

    def __repr__(self) -> str:
        return f"CasePattern({self.pattern[:40]!r}...)"
