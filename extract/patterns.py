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

Where many patterns run on the same text, `TokenGates` decides for all of them at once from the
text's words (cached per word), using literals read from each parsed pattern
(`required_literals`), and `Alternation` runs only the open branches of a big alternation.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import reduce
from itertools import product
from operator import or_
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import NamedTuple

__all__ = [
    "MAX_CACHED_TOKEN", "Alternation", "CasePattern", "TokenGates", "fast_start",
    "required_literals", "split_phrases", "top_level_branches", "trie_alternation",
    "with_single_spaces",
]

# What in a pattern is not a literal letter: escapes ("\S", "\Z") and group names.
_NOT_LETTERS = re.compile(r"\\.|\(\?P[<=]\w+>?|\(\?[a-zA-Z]+[:)]")


def _all_lowercase(pattern: str) -> bool:
    """True when no letter the pattern matches literally (or in a class) is uppercase."""
    return not any(c.isupper() for c in _NOT_LETTERS.sub("", pattern))


# The literal text a pattern's branch may start with: a letter or digit, then letters, digits,
# apostrophes and spaces, each matched once (the last one before a "?", "*", "+" or "{" is not:
# the lookahead gives it back).
_WORD_HEAD = re.compile(r"[a-z0-9](?:[a-z0-9' ](?![?*+{]))*(?![?*+{])")


def fast_start(pattern: str) -> str:
    """`pattern`, matching the same, rewritten so that `re` can scan for where it may start:
    when every top-level branch starts with "\\b" and a literal letter or digit, each starts
    with its literal text and checks the boundary behind it ("\\bgoing to\\b" becomes
    "going to(?<!\\wgoing to)\\b"). Before a word character, "\\b" holds exactly when the
    character before it is no word character, and the lookbehind checks just that character
    once the literal text is matched.

    `re` looks for a pattern's literal prefix (or the set of its branches' first characters)
    many times faster than it tries the pattern at every position; a leading "\\b" hides
    them. Measured on real segments, such a branch is searched three to eight times faster;
    the whole literal text as the prefix (not its first letter alone: "i" is everywhere, "if "
    is not) makes the gated phrase branches of `classify` about a quarter faster again.
    Anything else is left alone: a branch starting with a group of alternatives
    ("\\b(?:will|gonna)") was slower rewritten (its first characters are common letters, and
    every alternative is tried there before the boundary check), and one branch `re` cannot
    scan for makes it try the whole pattern everywhere again."""
    branches = []
    for branch in top_level_branches(pattern):
        head = _WORD_HEAD.match(branch, 2) if branch.startswith("\\b") else None
        if head is None:
            return pattern
        text = head.group()
        branches.append(f"{text}(?<!\\w{text}){branch[2 + len(text):]}")
    return "|".join(branches)


def _syntax(pattern: str) -> Iterator[tuple[int, str]]:
    """(index, character) of each character of `pattern` outside escapes and character classes:
    the ones that can open or close a group or separate branches."""
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 1 + (pattern[index + 1:index + 2] == "^")
            index += pattern[index:index + 1] == "]"  # a "]" first in a class is a member
            continue
        else:
            yield index, char
        index += 1


def _group_end(pattern: str) -> int:
    """Index of the ")" closing the group `pattern` opens at 0; -1 without one."""
    depth = 0
    for index, char in _syntax(pattern):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if not depth:
                return index
    return -1


_OPTIONAL_WORD = re.compile(r"\\b\(\?:[a-z]+ \)\?")


def _starts_with_letter(pattern: str) -> bool:
    """Whether every match of `pattern` starts with a letter, read off its start: a letter, a
    leading optional word before such a start, or a group (not optional or repeated) each of
    whose alternatives starts so."""
    if pattern[:1].isascii() and pattern[:1].isalpha():
        return pattern[1:2] not in ("?", "*", "{")  # "s?x" may start with "x"
    if (optional := _OPTIONAL_WORD.match("\\b" + pattern)) is not None:
        return _starts_with_letter(pattern[optional.end() - 2:])
    end = _group_end(pattern) if pattern.startswith("(?:") else -1
    return end > 0 and pattern[end + 1:end + 2] not in ("?", "*", "+", "{") and all(
        _starts_with_letter(branch) for branch in top_level_branches(pattern[3:end]))


def split_phrases(pattern: str, *, found_only: bool = False) -> str:
    """`pattern` with each top-level branch "\\b(?:a|b|...)rest" spelled out as the branches
    "\\barest|\\bbrest|...": it finds what `pattern` finds (at each position the branches are
    tried in the same order, each with all of `rest`'s ways to match).

    For `Alternation` and `TokenGates`: each phrase gets its own gate, one-word phrases are
    decided by the gates alone, and a branch that starts with a letter is scanned for fast
    (`fast_start`).

    `found_only`: for a caller that asks only whether there is a match, leading optional words
    ("\\b(?:the )?(?:root )?cause") are dropped first ("\\bcause"): a match with them holds
    one without them after the space, where the boundary holds too (the rest starts with a
    letter), so a match exists exactly when one did, but the matches are shorter."""
    branches = []
    for branch in top_level_branches(pattern):
        while found_only and (optional := _OPTIONAL_WORD.match(branch)) is not None \
                and _starts_with_letter(branch[optional.end():]):
            branch = "\\b" + branch[optional.end():]
        end = _group_end(branch[2:]) + 2 if branch.startswith("\\b(?:") else -1
        if end < 2 or branch[end + 1:end + 2] in ("?", "*", "+", "{"):
            branches.append(branch)
            continue
        rest = branch[end + 1:]
        branches.extend(f"\\b{phrase}{rest}" for phrase in top_level_branches(branch[5:end]))
    return "|".join(branches)


class CasePattern:
    """A compiled ``IGNORECASE`` pattern with the `re.Pattern` methods the rules use.

    `gate`: lowercase ASCII literals, one of which is in every match of `pattern` (the caller's
    promise, checked by tests/extract/test_cues.py over the labelled and sandbox texts)."""

    __slots__ = ("exact", "folded", "gate", "pattern")

    def __init__(self, pattern: str, flags: int = 0, *, gate: tuple[str, ...] = ()) -> None:
        self.pattern = pattern
        self.folded = re.compile(pattern, flags | re.IGNORECASE)
        self.exact = re.compile(pattern if flags & re.VERBOSE else fast_start(pattern), flags) \
            if _all_lowercase(pattern) else self.folded
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


# Bigger finite languages are not worth spelling out: `required_literals` falls back to a part.
_MAX_LITERALS = 64
_ZERO_WIDTH = frozenset({""})
_SPACE = frozenset({" "})
# Stands in a literal for a word boundary ("\b") of the pattern (`_Literals` with `boundaries`),
# never for a character: every match holds the literal's characters, with a word boundary in
# the text wherever it stands ("\0is working"). So where it stands before (after) a word
# character, the text has no word character just before (after) that one.
_EDGE = "\0"
_BOUNDARY = frozenset({_EDGE})
# Words in most sentences: a gate on them stays open; any rarer word of a literal gates better.
_COMMON = frozenset({
    "a", "all", "am", "an", "and", "are", "as", "at", "back", "be", "been", "but", "by", "can",
    "did", "do", "does", "for", "had", "has", "have", "he", "i", "if", "in", "is", "it", "it's",
    "its", "me", "my", "no", "not", "now", "of", "ok", "on", "or", "our", "she", "so", "that",
    "the", "they", "this", "to", "up", "us", "user", "was", "we", "were", "will", "with", "work",
})
# Clauses kept per piece of pattern: each is a further condition a gate can check.
_MAX_CLAUSES = 3
# What `_Literals` knows of a piece of pattern: the finite set of strings it matches (None when
# infinite or too many), and clauses, best first: sets of literals such that every match
# contains one literal of each set.
_Info = tuple[frozenset[str] | None, tuple[frozenset[str], ...]]


def _bare(literal: str) -> str:
    """`literal` without its word boundaries: the characters a match holds."""
    return literal.replace(_EDGE, "")


def _holds_empty(literals: frozenset[str]) -> bool:
    """Whether one of `literals` is no character at all (at most a word boundary)."""
    return any(not _bare(literal) for literal in literals)


def _rank(part: str) -> tuple[bool, bool, int]:
    part = _bare(part)
    return (part != "", part not in _COMMON, len(part))


def _piece(literal: str) -> str:
    """The part of `literal` between spaces that best tells whether it can occur (rare, long)."""
    return max(literal.split(" "), key=_rank)


def _score(literals: frozenset[str]) -> tuple[bool, bool, int, int]:
    """A set of literals gates as well as its weakest literal's piece; fewer are cheaper."""
    return (*min(_rank(_piece(literal)) for literal in literals), -len(literals))


def _clauses(info: _Info) -> tuple[frozenset[str], ...]:
    exact, clauses = info
    return (exact,) if exact is not None and not _holds_empty(exact) else clauses


def _ranked(candidates: Iterable[frozenset[str]]) -> tuple[frozenset[str], ...]:
    usable = {c for c in candidates if c and not _holds_empty(c)}
    return tuple(sorted(usable, key=lambda c: (_score(c), sorted(c)),
                        reverse=True))[:_MAX_CLAUSES]


class _Literals:
    """`required_literals` of one pattern, read from its parse tree; with `boundaries`, its
    word boundaries too, as `_EDGE` in the literals."""

    def __init__(self, single_spaced: bool, boundaries: bool = False) -> None:
        self.single_spaced = single_spaced
        self.boundaries = boundaries

    def sequence(self, items: Iterable[_Info]) -> _Info:
        """A concatenation: finite runs multiply out; every part's clauses hold (best kept)."""
        run: frozenset[str] | None = _ZERO_WIDTH
        whole = True
        candidates: list[frozenset[str]] = []
        for exact, clauses in items:
            if exact is not None and run is not None and len(run) * len(exact) <= _MAX_LITERALS:
                run = frozenset(a + b for a, b in product(run, exact))
                continue
            whole = False
            if run is not None:
                candidates.append(run)
            candidates.extend(clauses)
            run = exact
        if whole:
            return run, ()
        if run is not None:
            candidates.append(run)
        return None, _ranked(candidates)

    def info(self, pattern: list[tuple[object, object]]) -> _Info:
        """What a parsed (sub)pattern requires."""
        return self.sequence(self.node(op, arg) for op, arg in pattern)

    def node(self, op: object, arg: object) -> _Info:
        """What one parsed node requires."""
        if op is sre.LITERAL:
            if chr(arg) == _EDGE:  # type: ignore[arg-type]
                return None, ()  # a literal would read it as a boundary: require nothing
            return frozenset({self.char(chr(arg))}), ()  # type: ignore[arg-type]
        if op is sre.AT and arg is sre.AT_BOUNDARY and self.boundaries:
            return _BOUNDARY, ()
        if op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            return _ZERO_WIDTH, ()  # consumes nothing: matches as the empty string would
        if op is sre.SUBPATTERN:
            _, added, _, body = arg  # type: ignore[misc]
            return (None, ()) if added & re.IGNORECASE else self.info(body)
        if op is sre.ATOMIC_GROUP:
            return self.info(arg)  # type: ignore[arg-type]
        if op is sre.IN:
            return self.chars(arg), ()  # type: ignore[arg-type]
        if op is sre.BRANCH:
            return self.branch([self.info(branch) for branch in arg[1]])  # type: ignore[index]
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, body = arg  # type: ignore[misc]
            inner = self.info(body)
            if high == 0:
                return _ZERO_WIDTH, ()
            if self.single_spaced and inner[0] is not None and inner[0] <= _SPACE:
                # A run of whitespace is one space, or none.
                return (inner[0] if low else inner[0] | _ZERO_WIDTH), ()
            if low == high == 1:
                return inner
            if low == 0 and high == 1:
                return (inner[0] | _ZERO_WIDTH if inner[0] is not None else None), ()
            return None, (_clauses(inner) if low >= 1 else ())
        return None, ()  # any character, a back reference: nothing to require

    @staticmethod
    def branch(infos: list[_Info]) -> _Info:
        """An alternation: the union of the branches' languages, or of their clauses.

        A match is one branch's match, so it meets that branch's every clause: the union of
        the branches' *j*-th clauses (a branch with fewer lends its best) holds for each *j*."""
        exacts = [exact for exact, _ in infos]
        union = (frozenset().union(*exacts) if all(e is not None for e in exacts) else None)
        if union is not None and len(union) <= _MAX_LITERALS:
            return union, ()
        ranked = [_clauses(info) for info in infos]
        if not all(ranked):
            return None, ()
        return None, _ranked(frozenset().union(*(clauses[j] if j < len(clauses) else clauses[0]
                                                 for clauses in ranked))
                             for j in range(max(map(len, ranked))))

    def chars(self, items: list[tuple[object, object]]) -> frozenset[str] | None:
        """The characters a class matches, when it lists a few (None for ranges, negations)."""
        found: set[str] = set()
        for kind, value in items:
            if kind is sre.LITERAL and chr(value) != _EDGE:  # type: ignore[arg-type]
                found.add(self.char(chr(value)))  # type: ignore[arg-type]
            elif self.single_spaced and kind is sre.CATEGORY and value is sre.CATEGORY_SPACE:
                found.add(" ")
            else:
                return None
        return frozenset(found) if len(found) <= 8 else None

    def char(self, char: str) -> str:
        """A literal character as literals spell it: with `single_spaced`, whitespace is " "."""
        return " " if self.single_spaced and char.isspace() else char


def required_literals(pattern: str, *, single_spaced: bool = False) -> frozenset[str] | None:
    r"""Literals one of which every match of `pattern` (compiled case-sensitively) contains, or
    None when the pattern promises none (it can match the empty string, or starts anywhere).

    Read from the parsed pattern, so unlike a hand-written gate it cannot miss a case: a
    concatenation needs every part, so one part's literals (the rarest) gate it; an alternation
    needs one branch, so it needs the union of theirs; finite runs ("w" + "as|ere") multiply out.
    With `single_spaced` the literals are spelled with one space wherever the pattern matches
    whitespace (``\s+`` is " "), so words on either side of it join one literal: they hold for
    text whose whitespace is single spaces (`extract.roles.normalise`), and their parts between
    spaces for any text.
    """
    clauses = _required(pattern, single_spaced=single_spaced)
    return clauses[0] if clauses else None


def _required(pattern: str, *, single_spaced: bool,
              boundaries: bool = False) -> tuple[frozenset[str], ...]:
    """Every clause `required_literals` knows of, best first (none for an ``IGNORECASE`` one);
    with `boundaries`, the literals mark the pattern's word boundaries (`_EDGE`)."""
    parsed = sre_parse.parse(pattern)
    if parsed.state.flags & re.IGNORECASE:
        return ()
    return _clauses(_Literals(single_spaced, boundaries).info(list(parsed)))


def trie_alternation(words: Iterable[str]) -> str:
    """A regex alternation of `words` as a trie ("ab(?:c|d)?"): at each position `re` follows
    one branch per character instead of trying every word, and takes the longest word there."""
    heads: dict[str, set[str]] = {}
    for word in words:
        if word:
            heads.setdefault(word[0], set()).add(word[1:])
    branches = []
    for head, rests in sorted(heads.items()):
        longer = rests - {""}
        if not longer:
            branches.append(re.escape(head))
            continue
        tail = trie_alternation(longer)
        optional = "?" if "" in rests else ""
        branches.append(f"{re.escape(head)}(?:{tail}){optional}")
    return "|".join(branches)


# Longer tokens (a pasted log line, a base64 blob) are rarely seen twice and would make a full
# cache hold megabytes: they are looked at and forgotten.
MAX_CACHED_TOKEN = 64


# Every whitespace character (`str.isspace`) below U+3001, the last one.
_WHITESPACE = tuple(code for code in range(0x3001) if chr(code).isspace())
# What a token-local pattern may hold besides literals, groups, branches and repeats: the
# assertions that read a token's edge as they read the whitespace around it in the text.
_EDGE_NEUTRAL = frozenset({sre.AT_BOUNDARY, sre.AT_NON_BOUNDARY})
_NOT_WHITESPACE_CLASSES = frozenset({sre.CATEGORY_WORD, sre.CATEGORY_DIGIT,
                                     sre.CATEGORY_NOT_SPACE})


def _token_local(parsed: list[tuple[object, object]]) -> bool:
    """True when no match of the parsed pattern can hold whitespace, and nothing in it looks
    outside the match but word boundaries (no anchors, no lookarounds).

    Such a pattern matches a text exactly when it matches one of its whitespace-separated
    tokens on its own: a match lies inside one token, and a boundary at the token's edge reads
    whitespace in the text and the string's end in the token, both not word characters."""
    for op, arg in parsed:
        if op is sre.LITERAL:
            if chr(arg).isspace():  # type: ignore[arg-type]
                return False
        elif op is sre.AT:
            if arg not in _EDGE_NEUTRAL:
                return False
        elif op is sre.SUBPATTERN:
            if not _token_local(arg[3]):  # type: ignore[index]
                return False
        elif op is sre.ATOMIC_GROUP:
            if not _token_local(arg):  # type: ignore[arg-type]
                return False
        elif op is sre.BRANCH:
            if not all(_token_local(branch) for branch in arg[1]):  # type: ignore[index]
                return False
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            if not _token_local(arg[2]):  # type: ignore[index]
                return False
        elif op is sre.IN:
            for kind, value in arg:  # type: ignore[attr-defined]
                if kind is sre.LITERAL and not chr(value).isspace():
                    continue
                if kind is sre.RANGE and not any(value[0] <= code <= value[1]
                                                 for code in _WHITESPACE):
                    continue
                if kind is sre.CATEGORY and value in _NOT_WHITESPACE_CLASSES:
                    continue
                return False  # whitespace, a negated class, or something unforeseen
        else:
            return False  # any character, a lookaround, a back reference, ...
    return True


# Where in a token a literal puts one side of a piece: anywhere; at a word boundary (a "\b" of
# the pattern before its first or after its last character, a word character), so next to a
# character that is no word character or at the token's edge; at the token's edge (next to a
# space of the literal).
_ANYWHERE, _AT_BOUNDARY, _AT_EDGE = range(3)


def _is_word(char: str) -> bool:
    """Whether `re` reads `char` as a word character ("\\w")."""
    return char.isalnum() or char == "_"


class _Piece(NamedTuple):
    """A part of a literal between its spaces, and where in a token the literal puts it."""

    text: str
    # Where its start lies (`_ANYWHERE`, `_AT_BOUNDARY`, `_AT_EDGE`: after a space of the
    # literal, at a token's start).
    start: int
    # Where its end lies (`_AT_EDGE`: before a space of the literal, at a token's end).
    end: int


class _Masks(dict[str, int]):
    """Token -> bits of the gates it opens; computed on first sight, cleared when it grows past
    `limit` (real notes bring an endless stream of ids and host names).

    A new token costs one regex scan: `finder` reports the longest piece text starting at each
    of its positions, and `opens` maps it to every piece text it begins with (those found at
    that position): their lengths, and by where the text lies (its start's place, as
    `_Piece.start` names it, times three plus its end's) the bits of the pieces it meets there:
    those that ask for no more on either side. A token that opens a token-local
    pattern's bits then keeps them only when the pattern matches in it (`checks`: the bits,
    the pattern)."""

    def __init__(self, bits: dict[_Piece, int], limit: int,
                 checks: list[tuple[int, re.Pattern[str]]]) -> None:
        super().__init__()
        # Piece text -> the bits of its pieces by `start * 3 + end`.
        placed: dict[str, list[int]] = {}
        for piece, bit in bits.items():
            placed.setdefault(piece.text, [0] * 9)[piece.start * 3 + piece.end] |= bit
        # ... and by where a text found lies: the bits of every piece it meets there.
        met = {text: tuple(reduce(or_, (by_place[start * 3 + end]
                                        for start in range(lies // 3 + 1)
                                        for end in range(lies % 3 + 1)))
                           for lies in range(9))
               for text, by_place in placed.items()}
        self.opens = {found: tuple((len(text), met[text]) for text in placed
                                   if found.startswith(text))
                      for found in placed}
        self.finder = re.compile(f"(?=({trie_alternation(placed)}))") if placed else None
        self.limit = limit
        self.checks = checks

    def __missing__(self, token: str) -> int:
        mask = 0
        if self.finder is not None:
            size = len(token)
            for found in self.finder.finditer(token):
                start = found.start()
                lies = 3 * (_AT_EDGE if start == 0 else _ANYWHERE if _is_word(token[start - 1])
                            else _AT_BOUNDARY)
                for length, met in self.opens[found.group(1)]:
                    end = start + length
                    mask |= met[lies + (_AT_EDGE if end == size else _ANYWHERE
                                        if _is_word(token[end]) else _AT_BOUNDARY)]
        for bits, pattern in self.checks:
            if mask & bits:
                mask = mask | bits if pattern.search(token) is not None else mask & ~bits
        if len(token) <= MAX_CACHED_TOKEN:
            if len(self) >= self.limit:
                self.clear()
            self[token] = mask
        return mask


class TokenGates:
    """Which of many patterns can match a text, from its space-separated tokens.

    Pattern *i* can only match where one of its `required_literals` (`single_spaced`) occurs,
    and each of the literal's parts between spaces then lies inside one whitespace-separated
    token, whatever whitespace the text has there: a space of the literal stands for one or
    more whitespace characters, and its other characters for characters that are not
    whitespace. So a part after a space starts a token, and a part before one ends a token
    ("is" in "is working" ends one, which "isp" or "island" does not). The gates of a text
    hold for each of its suffixes too: a part that starts a token there has whitespace before
    it, in the text as well. Each pattern gets
    `slots` bits: bit *s* is on when, for some literal, its *s*-th rarest piece (its rarest
    again when it has fewer) is in some token, where the literal puts it; a pattern whose
    bits are not all on cannot match. A token's bits are looked up once (bounded cache),
    making the gate for a whole segment a split, a few dictionary lookups and shifts, where
    one regex gate per pattern costs a scan of the text each. Patterns without required
    literals are always open. Sound for the patterns compiled case-sensitively
    (`CasePattern.exact`), so for text that is ASCII without uppercase letters.

    With `exact`, for a pattern whose matches never hold whitespace and that looks at nothing
    around them but word boundaries (`_token_local`: "\\b(?:error|crash(?:ed)?)\\b"), a token's
    bits are kept only when the pattern matches in it: the gate is then exact, on exactly when
    the pattern matches the text (a new token costs a search per such pattern it opens). The
    `exact` attribute has the bits of those patterns (none without the option).

    With `boundaries`, a piece the pattern puts after (before) a word boundary "\\b" and that
    starts (ends) with a word character counts only where the token has no word character
    before (after) it: "\\bis working" is not opened by "this working". The gates then hold
    for a suffix of the text only where it starts at a token or after a character that is no
    word character (as a label or a lead-in cut off ends), where a boundary reads as in the
    text.
    """

    __slots__ = ("_lookup", "always", "exact", "low", "masks", "slots", "width")

    def __init__(self, patterns: Iterable[str], *, slots: int = 2, limit: int = 50_000,
                 exact: bool = False, boundaries: bool = False) -> None:
        patterns = list(patterns)
        compiled = [_required(pattern, single_spaced=True, boundaries=boundaries)
                    for pattern in patterns]
        self.width = len(compiled)
        self.slots = slots
        self.always = 0
        self.exact = 0
        bits: dict[_Piece, int] = {}
        checks: list[tuple[int, re.Pattern[str]]] = []
        for index, clauses in enumerate(compiled):
            every_slot = 0
            for slot in range(slots):
                bit = 1 << (slot * self.width + index)
                every_slot |= bit
                pieces = self._pieces(clauses, slot)
                if pieces is None:
                    self.always |= bit
                for piece in pieces or ():
                    bits[piece] = bits.get(piece, 0) | bit
            # With an always-open slot the gate cannot close: nothing to make exact.
            if exact and not self.always & every_slot and _token_local(list(
                    sre_parse.parse(patterns[index]))):
                checks.append((every_slot, re.compile(patterns[index])))
                self.exact |= 1 << index
        self.masks = _Masks(bits, limit, checks)
        # Bound once: `mask_words` runs on every segment, and binding it there costs a new
        # method object each time.
        self._lookup = self.masks.__getitem__
        self.low = (1 << self.width) - 1

    @staticmethod
    def _pieces(clauses: tuple[frozenset[str], ...], slot: int) -> set[_Piece] | None:
        """What `slot` checks: the rarest piece of each literal of the slot-th clause; past the
        last clause, the next-rarest pieces of the best clause's literals. None: nothing."""
        clause, rank = (clauses[slot], 0) if slot < len(clauses) \
            else (clauses[0] if clauses else frozenset(), slot - len(clauses) + 1)
        pieces = set()
        for literal in sorted(clause):
            parts = literal.split(" ")
            placed: dict[str, _Piece] = {}  # a part said twice: where it is first
            for index, part in enumerate(parts):
                text = _bare(part)
                if text and text not in placed:
                    start = _AT_EDGE if index > 0 else _AT_BOUNDARY if part.startswith(
                        _EDGE) and _is_word(text[0]) else _ANYWHERE
                    end = _AT_EDGE if index < len(parts) - 1 else _AT_BOUNDARY if part.endswith(
                        _EDGE) and _is_word(text[-1]) else _ANYWHERE
                    placed[text] = _Piece(text, start, end)
            # Rarest first; ties keep the literal's word order (`sorted` is stable).
            ranked = sorted(placed.values(), key=lambda piece: _rank(piece.text), reverse=True)
            if not ranked:
                return None
            pieces.add(ranked[rank] if rank < len(ranked) else ranked[0])
        return pieces or None

    def mask(self, text: str) -> int:
        """Bit *i* on for each pattern *i* that may match `text` (ASCII, no uppercase letter)."""
        return self.mask_words(text.split())

    def mask_words(self, words: Iterable[str]) -> int:
        """`mask` of the text whose whitespace-separated tokens are `words` (for a caller that
        has split the text already)."""
        found = reduce(or_, map(self._lookup, words), self.always)
        if self.slots == 2:  # the usual number: one shift, no loop
            # Every bit is below 2 * width, so the shifted half has none at width or above: no
            # `low` to clear.
            return found & (found >> self.width)
        opened = found
        for slot in range(1, self.slots):
            opened &= found >> (slot * self.width)
        return opened & self.low


def top_level_branches(pattern: str) -> list[str]:
    """The branches of `pattern`'s outermost alternation ("a|b(c|d)" -> ["a", "b(c|d)"]), joined
    by "|" they give `pattern` back."""
    branches: list[str] = []
    depth = start = 0
    for index, char in _syntax(pattern):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and not depth:
            branches.append(pattern[start:index])
            start = index + 1
    branches.append(pattern[start:])
    return branches


def with_single_spaces(pattern: str) -> str:
    """`pattern` with each "\\s+" (outside a character class) written as one space: it matches
    the same on text whose only whitespace is single spaces (`normalise`d text), and a space is
    literal text that `fast_start` can move into the prefix `re` scans for ("is\\s+working":
    "is " rather than "is")."""
    out = []
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escape = pattern[index:index + 2]
            if not in_class and escape == "\\s" and pattern[index + 2:index + 3] == "+":
                out.append(" ")
                index += 3
                if pattern[index:index + 1] in ("?", "+"):  # lazy or possessive: one space too
                    index += 1
                continue
            out.append(escape)
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            skip = 1 + (pattern[index + 1:index + 2] == "^")
            skip += pattern[index + skip:index + skip + 1] == "]"  # a first "]" is a member
            out.append(pattern[index:index + skip])
            index += skip
            continue
        out.append(char)
        index += 1
    return "".join(out)


class Alternation:
    """A pattern's top-level branches compiled one by one (case-sensitively), so that a search
    tries only the branches a gate left open: usually none or one of a dozen.

    `single_spaced`: searched only in text whose whitespace is single spaces (see
    `with_single_spaces`), which lets more of a branch's start be scanned for."""

    __slots__ = ("branches", "patterns")

    def __init__(self, pattern: str, *, single_spaced: bool = False) -> None:
        # The branches as written, for gates read from them (`TokenGates`); compiled, each
        # rewritten by `fast_start`.
        self.patterns = tuple(top_level_branches(pattern))
        self.branches = tuple(
            re.compile(fast_start(with_single_spaces(branch) if single_spaced else branch))
            for branch in self.patterns)

    def search(self, text: str, opened: int, pos: int = 0) -> re.Match[str] | None:
        """What the whole pattern's `search` finds, when bit *i* of `opened` is on for every
        branch *i* that can match `text`: the leftmost match, of the first branch matching there
        (the order `re` tries an alternation in)."""
        found: re.Match[str] | None = None
        while opened:
            low = opened & -opened
            match = self.branches[low.bit_length() - 1].search(text, pos)
            if match is not None and (found is None or match.start() < found.start()):
                found = match
            opened ^= low
        return found

    def any(self, text: str, opened: int, pos: int = 0) -> bool:
        """Whether `search` would find a match (`opened` as there): the first branch that
        matches anywhere decides, without looking for the leftmost match."""
        while opened:
            low = opened & -opened
            if self.branches[low.bit_length() - 1].search(text, pos) is not None:
                return True
            opened ^= low
        return False
