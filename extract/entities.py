"""Entities: error codes, KB references, products and their versions, by spaCy patterns.

The registered component ``fixedit_entities_v1`` runs a token `Matcher` (multi-token codes such
as "event id 4625" or "HTTP 503"), one compiled pattern for single-token shapes (0x80070005,
KB5034441, AADSTS50126, versions) and a `PhraseMatcher` over the product lexicon
(``data/products.json``: aliases case-insensitively, "cased" aliases such as "Edge" only as
written). It stores the non-overlapping entities in ``doc.user_data["fixedit_entities"]`` as
plain (label, value, start, end) tuples, the value normalised ("0x80070005", "KB5034441",
"Microsoft Outlook"). It tags a batch of docs at once (`EntityTagger.mark`, through `pipe`):
one look at the batch's token ids and characters tells which docs each finder need read.
`mentions` turns them into records and attaches a version that follows a product
("GlobalProtect 6.2.1").
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import islice
from operator import is_, itemgetter

import numpy
from spacy.attrs import LOWER
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from extract.lexicon import load_json
from extract.segment import TOKEN_COLUMNS, TokenBatch, doc_text, token_table

__all__ = [
    "FACTORY", "EntityTagger", "Mention", "TokenPatterns", "mentions", "product_categories",
]

FACTORY = "fixedit_entities_v1"
_LOWER = TOKEN_COLUMNS.index(LOWER)  # the LOWER column of `token_table`
PRODUCT, VERSION, ERROR_CODE, KB_REF = "PRODUCT", "VERSION", "ERROR_CODE", "KB_REF"

_HTTP_REASONS = {
    "400": ["bad", "request"], "401": ["unauthorized"], "403": ["forbidden"],
    "404": ["not", "found"], "408": ["request", "timeout"], "429": ["too", "many", "requests"],
    "500": ["internal", "server", "error"], "502": ["bad", "gateway"],
    "503": ["service", "unavailable"], "504": ["gateway", "timeout"],
}
_NUMBER = {"TEXT": {"REGEX": r"^\d{1,6}$"}}
_OPTIONAL_COLON = {"TEXT": {"IN": [":", "#", "="]}, "OP": "?"}
# Multi-token patterns, each anchored on a cheap first-token word test.


def _each(words: list[str], rest: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    """One pattern per first word: an exact first-token test runs in C, a set test does not."""
    return [[{"LOWER": word}, *rest] for word in words]


# Multi-token patterns, each anchored on an exact first-token word.
_PATTERNS: dict[str, list[list[dict[str, object]]]] = {
    "EVENT_ID": [
        *_each(["event", "evt"], [{"LOWER": {"IN": ["id", "ids", "#"]}, "OP": "?"},
                                  _OPTIONAL_COLON, _NUMBER]),
        *_each(["eventid", "eid"], [_OPTIONAL_COLON, _NUMBER]),
    ],
    "HTTP": _each(["http", "https", "http/1.1", "http/1.0", "http/2"],
                  [{"LOWER": {"IN": ["error", "status", "code"]}, "OP": "*"},
                   _OPTIONAL_COLON, {"TEXT": {"REGEX": r"^[1-5]\d\d$"}}]),
    "HTTP_REASON": [[{"TEXT": code}, *({"LOWER": word} for word in words)]
                    for code, words in _HTTP_REASONS.items()],
    "GENERIC_ERROR": _each(["error", "err", "code"],
                           [{"LOWER": "code", "OP": "?"}, _OPTIONAL_COLON,
                            {"TEXT": {"REGEX": r"^-?\d{2,10}$"}}]),
    "INTERNAL_KB": _each(["kb"], [{"LOWER": {"IN": ["article", "#", "-"]}}, _OPTIONAL_COLON,
                                  {"TEXT": {"REGEX": r"^\d{1,5}$"}}]),
    "VERSION": [*_each(["version", "ver", "v", "build", "release"],
                       [{"TEXT": ".", "OP": "?"},
                        {"LOWER": {"REGEX": r"^v?\d+(?:\.\d+){1,3}[a-z]?$"}}]),
                *_each(["build"], [{"TEXT": {"REGEX": r"^\d{4,5}(?:\.\d+)?$"}}])],
}
# A token test of a pattern step (on the token's TEXT or LOWER string), and the step: its test,
# whether it reads LOWER (else TEXT) and its operator ("1", "?" or "*").
_Test = Callable[[str], bool]
_Step = tuple[_Test, bool, str]


def _test(spec: dict[str, object]) -> tuple[_Test, bool]:
    """The test of one pattern step (equality, "IN" or "REGEX", as the Matcher reads them: a
    REGEX is searched for, not matched), and whether it reads the token's LOWER (else TEXT)."""
    (attr, wanted), = ((k, v) for k, v in spec.items() if k != "OP")
    if attr not in ("TEXT", "LOWER"):
        raise ValueError(f"unsupported pattern step {spec!r}")
    reads_lower = attr == "LOWER"
    if isinstance(wanted, str):
        return (lambda value: value == wanted), reads_lower
    if not isinstance(wanted, dict) or len(wanted) != 1:
        raise ValueError(f"unsupported pattern step {spec!r}")
    if "IN" in wanted:
        values = frozenset(wanted["IN"])
        return (lambda value: value in values), reads_lower
    search = re.compile(wanted["REGEX"]).search
    return (lambda value: search(value) is not None), reads_lower


class TokenPatterns:
    """`_PATTERNS` matched as spaCy's `Matcher` matches them: every (key, start, end) any
    pattern matches, once, in no particular order (equal spans of one key are equal entities).

    Every pattern opens with an exact word, so only a token whose LOWER is some pattern's first
    word (lowercased) can start a match: one look at the doc's LOWER ids tells whether any
    does, and the patterns are stepped through from those tokens alone, on the token strings
    sliced from the text (TEXT; LOWER is its ``str.lower()``, as spaCy's lexeme attribute is).
    The Matcher steps every token of the doc through its states and builds a Token for each,
    which cost ten times more. The pattern language read is the part `_PATTERNS` uses: one TEXT
    or LOWER test a step (a string, "IN" or "REGEX") and the operators "?" and "*"; anything
    else is refused when built.
    """

    def __init__(self, vocab: Vocab, patterns: dict[str, list[list[dict[str, object]]]]) -> None:
        self.first: dict[int, list[tuple[str, list[_Step]]]] = {}
        for key, variants in patterns.items():
            for pattern in variants:
                opener = next(iter(pattern[0].values()))
                if not isinstance(opener, str) or "OP" in pattern[0]:
                    raise ValueError(f"a pattern must open with an exact word: {pattern!r}")
                steps = [(*_test(spec), str(spec.get("OP", "1"))) for spec in pattern]
                if any(op not in ("1", "?", "*") for _, _, op in steps):
                    raise ValueError(f"unsupported operator in {pattern!r}")
                self.first.setdefault(vocab.strings.add(opener.lower()), []).append((key, steps))

    def __call__(self, doc: Doc) -> set[tuple[str, int, int]]:
        """(key, start, end) of every match in `doc`."""
        return self.find(doc_text(doc), token_table(doc))

    def find(self, text: str, table: numpy.ndarray) -> set[tuple[str, int, int]]:
        """(key, start, end) of every match in the doc of `text` whose `token_table` is `table`."""
        lowers: list[int] = table[:, 2].tolist()
        if self.first.keys().isdisjoint(lowers):  # most docs: no token opens a pattern
            return set()
        first = self.first
        return self.find_at(text, table, [start for start, lower in enumerate(lowers)
                                          if lower in first])

    def find_at(self, text: str, table: numpy.ndarray,
                places: Iterable[int]) -> set[tuple[str, int, int]]:
        """`find`, given the tokens that open a pattern (`places`, in order; the caller read
        them off the LOWER ids of a batch of docs at once): the patterns are stepped through
        from those alone, each token read from the table as it is reached."""
        found: set[tuple[str, int, int]] = set()
        size = len(table)
        item = table.item
        for start in places:
            for key, steps in self.first[item(start, 2)]:
                ends = {start}  # where the steps so far can have got to
                for test, reads_lower, op in steps:
                    reached: set[int] = set()
                    for end in ends:
                        if op != "1":  # "?" and "*" may take no token
                            reached.add(end)
                        while end < size:
                            offset = item(end, 0)
                            value = text[offset:offset + item(end, 1)]
                            if not test(value.lower() if reads_lower else value):
                                break
                            end += 1
                            reached.add(end)
                            if op != "*":
                                break
                    ends = reached
                    if not ends:
                        break
                found.update((key, start, end) for end in ends)
        return found


# Every `_PATTERNS` match holds a digit: most texts are turned away by this one scan for one.
# On ASCII text "\d" is "[0-9]", which `re` searches for about twice as fast (a range test, not a
# Unicode category lookup, at each character).
_ANY_DIGIT = re.compile(r"\d")
_ASCII_DIGIT = re.compile("[0-9]")
# Single-token shapes, found in one pass over the text (a per-token REGEX predicate in the
# Matcher costs a regex call for every token of every doc). In priority order: `_shapes`
# compiles the alternation of those a text can hold.
_SHAPE_PARTS = (
    ("HEX", r"\b0[xX][0-9a-fA-F]{2,8}\b"),
    ("VENDOR", r"\b(?i:AADSTS\d{5,6}|ORA-\d{5}|CAA[0-9A-F]{5})\b|\bERR_[A-Z_]+\b"),
    ("BUGCHECK", r"\b(?!HKEY_)[A-Z][A-Z0-9]+(?:_[A-Z0-9]+){2,}\b"),
    ("SMTP", r"\b[45]\d\d[ ][45]\.\d{1,3}\.\d{1,3}\b"),
    ("INTERNAL_KB", r"\b(?:[A-Za-z]{2,6}-)?(?i:kb)[-#]\d{1,7}\b"),
    ("MS_KB", r"\b(?i:kb)[ ]?\d{6,7}\b"),
    ("KB_URL", r"\bhttps?://[^\s<>\"')\]]+"),
    ("VERSION", r"(?<![\w.])[vV]?\d+(?:\.\d+){1,3}[a-z]?(?![\w.]\w)|\b\d{2}[hH][12]\b"),
)
_ALL_SHAPES = tuple(name for name, _ in _SHAPE_PARTS)
# Every shape match holds a digit, an underscore (ERR_*, bugcheck names), "://" or "caa"
# (CAA codes may be all hex letters): non-ASCII text without any of them skips the scan (ASCII
# text is tested for each shape's literals instead).
_SHAPE_HINT = re.compile(r"[0-9_]|://|(?i:caa)")
# Every SMTP and VERSION match holds a digit, a "." and a digit in a row ("6.2", "5.7.1"), or
# is a release name ("22H2"). Each branch opens with its literal (the digit before it is looked
# behind at): `re` skips in C to a ".", "h" or "H", fewer than the digits of a text with times,
# dates and ticket numbers, where "\d" first had it try the rest at every digit (twice as slow).
_DOTTED_DIGIT = re.compile(r"\.(?<=\d\.)\d|h(?<=\dh)[12]|H(?<=\dH)[12]")
# `_DOTTED_DIGIT` is searched for only where its release-name branches can match, a text holding
# an "h1" or "h2" (lowercased, as "H1" reads): elsewhere the "h" and "H" of its literals stop
# `re` at almost every word, and its first branch alone, opening with a ".", is searched for
# several times faster.
_DIGIT_DOT_DIGIT = re.compile(r"\.(?<=\d\.)\d")


def _dotted(text: str, lower: str) -> bool:
    """Whether `_DOTTED_DIGIT` finds something in `text` (`lower` is its ``str.lower()``)."""
    if "h1" in lower or "h2" in lower:
        return _DOTTED_DIGIT.search(text) is not None
    return _DIGIT_DOT_DIGIT.search(text) is not None


# Every BUGCHECK match holds an underscore between capitals or digits ("CRITICAL_PROCESS_DIED"),
# every INTERNAL_KB and MS_KB match a "kb" and a number ("KB-1234", "KB 5034441"): texts with a
# "_" or a "kb" and no such thing ("include:_spf", "see kb") need no scan for them.
_BUGCHECK_HINT = re.compile(r"_(?<=[A-Z0-9]_)[A-Z0-9]")
_KB_NUMBER = re.compile(r"kb[ #-]?\d")


@cache
def _compiled_shapes(names: tuple[str, ...]) -> re.Pattern[str]:
    """The alternation of the named shapes, in `_SHAPE_PARTS` order."""
    return re.compile("|".join(f"(?P<{name}>{body})" for name, body in _SHAPE_PARTS
                               if name in names))


def _shapes(text: str, lower: str, digit: bool) -> re.Pattern[str] | None:
    """The shape pattern for `text` (`lower` is its ``str.lower()``, `digit` whether it holds a
    digit): on ASCII text, only the shapes whose literal parts it holds (a shape that cannot
    match anywhere in the text changes nothing in a scan, and the alternation is far cheaper
    without it); None when none can match."""
    if not text.isascii():  # case folds such as the Kelvin sign make literal tests unsound
        return _compiled_shapes(_ALL_SHAPES) if _SHAPE_HINT.search(text) else None
    wanted: list[str] = []
    # HEX, AADSTS and ORA- codes hold a digit, ERR_ and bugcheck names an underscore: a text
    # without one is spared the searches for their literals.
    underscore = "_" in text
    if digit and "0x" in lower:
        wanted.append("HEX")
    if (digit and ("aadsts" in lower or "ora-" in lower)) or "caa" in lower \
            or (underscore and "ERR_" in text):
        wanted.append("VENDOR")
    if underscore and _BUGCHECK_HINT.search(text) is not None:
        wanted.append("BUGCHECK")
    # Most texts with a digit hold no dotted number (times, dates, ticket numbers): they need
    # neither SMTP nor VERSION, and so no scan of their word starts.
    dotted = digit and _dotted(text, lower)
    if dotted:
        wanted.append("SMTP")
    if digit and "kb" in lower and _KB_NUMBER.search(lower) is not None:
        wanted += ("INTERNAL_KB", "MS_KB")
    if "://" in text:
        wanted.append("KB_URL")
    if dotted:
        wanted.append("VERSION")
    return _compiled_shapes(tuple(wanted)) if wanted else None


# Every match of the HEX, SMTP and VERSION shapes starts a word ("\b" or "(?<![\w.])" before a
# word character) with a digit or a "v". `re` tries a pattern that opens with a group or an
# assertion at every character, but skips in C to the characters a leading class allows: this
# pattern finds those word starts, and the shapes are tried only there. Only the word starts
# that go on as one of the shapes can are taken: "0x" (HEX), two more digits and a space (SMTP,
# "550 5.7.1"), digits up to a "." and a digit (VERSION, "v6.2", "10.0.19045"), or a digit and
# an "h" ("22H2"). The rest (times, dates, ticket numbers, "via") are left in C: each word
# start taken costs a Python step and a `match`.
_NUMERIC_SHAPES = frozenset({"HEX", "SMTP", "VERSION"})
_NUMERIC_START = re.compile(r"[\dvV](?<!\w[\dvV])(?=[xX]|\d*\.\d|\d\d |\d[hH])")
# The same on ASCII text, where "\d" is "[0-9]" and "\w" "[A-Za-z0-9_]": `re` tests a class of
# ranges faster than one of Unicode categories (measured: 3.3 -> 1.8 µs a ticket).
_ASCII_NUMERIC_START = re.compile(
    r"[0-9vV](?<![A-Za-z0-9_][0-9vV])(?=[xX]|[0-9]*\.[0-9]|[0-9][0-9] |[0-9][hH])")


# Every KB_REF shape match (INTERNAL_KB, MS_KB) holds "kb" in any case, and starts at it or,
# as "\b[A-Za-z]{2,6}-kb", at the run of letters just before "-kb". On text that is not ASCII
# the "kb" is read as the shapes read it, case-insensitively (the Kelvin sign is a "k").
_KB_SHAPES = frozenset({"INTERNAL_KB", "MS_KB"})
_KB_AT = re.compile("[kK][bB]")
_ANY_KB_AT = re.compile("(?i:kb)")
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# The other shapes open with a literal or a capital, each found by a pattern that skips to it in
# C: VENDOR at "aadsts", "ora-", "caa" (read as the shape reads them) or "ERR_", BUGCHECK at a
# run of capitals and digits ending in "_", KB_URL at "http://" or "https://". Each takes
# characters past its start that a match of the same shape cannot start at either (the word
# characters after a word start, a "-", a "_", ":" or "/"), so no start is hidden.
_WORD_SHAPE_AT = {
    "VENDOR": re.compile(r"(?i:aadsts|ora-|caa)|ERR_"),
    "BUGCHECK": re.compile(r"[A-Z][A-Z0-9]+_"),
    "KB_URL": re.compile(r"https?://"),
}


def _shape_starts(names: dict[str, int], text: str) -> list[int]:
    """Sorted positions, with repeats, where a match of the named shapes can start: the word
    starts `_NUMERIC_START` finds, each "kb" and the letters before a "-kb", and the openings
    `_WORD_SHAPE_AT` finds."""
    ascii_ = text.isascii()
    numeric = _ASCII_NUMERIC_START if ascii_ else _NUMERIC_START
    starts = [m.start() for m in numeric.finditer(text)] \
        if not _NUMERIC_SHAPES.isdisjoint(names) else []
    for name, opening in _WORD_SHAPE_AT.items():
        if name in names:
            starts += [m.start() for m in opening.finditer(text)]
    if not _KB_SHAPES.isdisjoint(names):
        for found in (_KB_AT if ascii_ else _ANY_KB_AT).finditer(text):
            at = found.start()
            starts.append(at)
            if at and text[at - 1] == "-":
                word = at - 1  # back over at most 7 letters: a longer run has no "\b" in reach
                while word and at - 1 - word < 7 and text[word - 1] in _ASCII_LETTERS:
                    word -= 1
                if 2 <= at - 1 - word <= 6:
                    starts.append(word)
    starts.sort()
    return starts


def _shape_matches(shapes: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``shapes.finditer(text)``: the same matches, found by trying `shapes` at each position
    one can start (`_shape_starts`) at or after the end of the last match (`match` at a
    position sees the characters before it, as "\b" and look-behinds need). `re` tries a
    pattern that opens with a group at every character: about 9 µs on a note with a KB
    number, and 2 µs a ticket for the texts holding an underscore or a URL."""
    end = 0
    for start in _shape_starts(shapes.groupindex, text):
        if start >= end and (match := shapes.match(text, start)) is not None:
            end = match.end()
            yield match


_KB_PAGE = re.compile(r"/kb/|knowledge|/articles?/|/wiki/|/docs?/|support\.|learn\.microsoft"
                      r"|itglue|hudu|confluence|/help/|/troubleshoot/", re.IGNORECASE)
_LABELS = {"HEX": ERROR_CODE, "BUGCHECK": ERROR_CODE, "EVENT_ID": ERROR_CODE, "HTTP": ERROR_CODE,
           "HTTP_REASON": ERROR_CODE, "VENDOR": ERROR_CODE, "SMTP": ERROR_CODE,
           "GENERIC_ERROR": ERROR_CODE, "MS_KB": KB_REF, "INTERNAL_KB": KB_REF, "KB_URL": KB_REF,
           "VERSION": VERSION}
_MS_KB_URL = re.compile(r"(?:/kb/|/help/|kb)(\d{6,7})\b", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_VERSION_WORDS = frozenset({"version", "ver", "v", "build", "release"})


def _version(first: str, last: str) -> str | None:
    value = last[1:] if last[:1] in "vV" and last[1:2].isdigit() else last
    value = value.upper() if "h" in value.lower() else value
    parts = value.split(".")
    if len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts) \
            and first.lower() not in _VERSION_WORDS:
        return None  # an IPv4 address
    if len(parts) == 3 and len(parts[2]) == 4 and parts[2][:2] in ("19", "20"):
        return None  # a date like 12.05.2024
    return value


def _normalise(key: str, text: str, first: str, last: str) -> str | None:
    """The canonical value of a match (its text, first and last token), or None to drop it."""
    if key == "HEX":
        return "0x" + text[2:].upper()
    if key in ("BUGCHECK", "VENDOR"):
        return text.upper()
    if key in ("EVENT_ID", "HTTP", "GENERIC_ERROR"):
        prefix = {"EVENT_ID": "Event ID", "HTTP": "HTTP", "GENERIC_ERROR": "Error"}[key]
        return f"{prefix} {last}"
    if key == "HTTP_REASON":
        return f"HTTP {first}"
    if key == "SMTP":
        return text
    if key == "MS_KB":
        return "KB" + "".join(_DIGITS.findall(text))
    if key == "INTERNAL_KB":
        return text.upper().replace("#", "-") if first == text \
            else "KB-" + "".join(_DIGITS.findall(text))
    if key == "KB_URL":
        if not _KB_PAGE.search(text):
            return None
        found = _MS_KB_URL.search(text) if "microsoft.com" in text.lower() else None
        return f"KB{found.group(1)}" if found else text.split("?", 1)[0].split("#", 1)[0]
    if key == "VERSION":
        return _version(first, last)
    raise ValueError(f"unknown entity pattern {key}")


@cache
def _products() -> tuple[dict[str, str], ...]:
    return tuple(load_json("products.json")["products"])


@cache
def product_categories() -> dict[str, str]:
    """Canonical product name -> the category it votes for."""
    return {product["name"]: product["category"] for product in _products()}


class EntityTagger:
    """Finds error codes, KB references, versions and products in a doc.

    `mark` does a whole batch of docs at once (`pipe`, and the extractor, call it; a doc alone is
    a batch of one). Most docs hold no entity, and each of the three finders can tell from the
    batch as a whole which docs it need not look at: one look at the batch's LOWER ids finds
    the docs with a token that opens a token pattern, and the places where a product alias can
    start; one pass over the character pairs of the joined texts finds the docs that may hold
    a shape (`_shaped_docs`). Each doc is then read only by the finders that can find something
    in it. Per doc, the pattern gate alone cost a microsecond (its LOWER ids as Python ints),
    and a `PhraseMatcher` call about as much even when it found nothing.
    """

    def __init__(self, nlp: Language) -> None:
        self.patterns = TokenPatterns(nlp.vocab, _PATTERNS)
        # The LOWER ids that open a token pattern
        self.openers = _IdSet(self.patterns.first)
        # One LOWER matcher for both kinds of alias. A cased alias ("Edge") is added under a
        # key of its own and kept only where the doc's tokens read as one of its forms: an
        # ORTH match is a LOWER match whose token texts are those of the alias, and few texts
        # hold a cased alias's words even lowercased, where a second matcher, or a scan for its
        # first words to spare most docs that matcher, cost a pass over every doc.
        self.products = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.names: dict[int, str] = {}  # match id of a product's aliases -> its name
        # match id of a product's cased aliases -> its name, and their token texts
        self.cased: dict[int, tuple[str, frozenset[tuple[str, ...]]]] = {}
        alias_docs: list[Doc] = []
        for product in _products():
            name = product["name"]
            aliases = [nlp.make_doc(alias) for alias in product.get("aliases", [])]
            cased = [nlp.make_doc(alias) for alias in product.get("cased", [])]
            if aliases:
                self.products.add(name, aliases)
                self.names[nlp.vocab.strings.add(name)] = name
            if cased:
                key = f"{name}\x00cased"
                self.products.add(key, cased)
                self.cased[nlp.vocab.strings.add(key)] = \
                    name, frozenset(tuple(token.text for token in alias) for alias in cased)
            alias_docs += aliases + cased
        self.aliases = _AliasTrie(self.products, alias_docs)

    def __call__(self, doc: Doc) -> Doc:
        """Store the non-overlapping entities in ``doc.user_data["fixedit_entities"]``."""
        self.mark([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 1024) -> Iterator[Doc]:
        """`__call__` over a stream of docs, `batch_size` docs to a `mark`."""
        stream = iter(docs)
        while batch := list(islice(stream, batch_size)):
            self.mark(batch)
            yield from batch

    def mark(self, docs: Sequence[Doc], tokens: TokenBatch | None = None) -> None:
        """Store the non-overlapping entities of every doc of `docs` in its
        ``user_data["fixedit_entities"]``. `tokens` may be what `Boundaries.mark` handed back
        for the same docs: when it holds exactly the docs of `docs` with tokens, in order, their
        joined token table is read from it rather than joined again."""
        for doc in docs:
            doc.user_data[_ENTITIES_KEY] = []
        sizes = [len(doc) for doc in tokens.docs] \
            if tokens is not None and _same_docs(tokens.docs, docs) else []
        if sizes and sum(sizes) == len(tokens.table):  # and no doc retokenised since
            kept, table = tokens.docs, tokens.table
        else:
            kept = [doc for doc in docs if len(doc)]  # an empty doc holds no entity
            if not kept:
                return
            tables = [token_table(doc) for doc in kept]
            table = numpy.concatenate(tables) if len(tables) > 1 else tables[0]
            sizes = [len(rows) for rows in tables]
        texts = [doc_text(doc) for doc in kept]
        lowers = table[:, _LOWER]
        # Where every doc's tokens begin in the joined table
        opens = numpy.zeros(len(kept) + 1, dtype=numpy.int64)
        numpy.cumsum(sizes, out=opens[1:])
        opening = _places_by_doc(opens, self.openers.places(lowers))
        shaped = _shaped_docs(texts)
        products = self.aliases.find(lowers, opens)
        bounds = opens.tolist()
        for index in sorted(set(opening).union(shaped, products)):
            found = self._find(texts[index], table[bounds[index]:bounds[index + 1]],
                               opening.get(index, ()), index in shaped,
                               products.get(index, ()))
            if found:
                kept[index].user_data[_ENTITIES_KEY] = _non_overlapping(found)

    def _find(self, text: str, table: numpy.ndarray, opening: Sequence[int], shaped: bool,
              products: Iterable[tuple[int, int, int]]) -> list[_Found]:
        """The entities of the doc of `text` whose `token_table` is `table`, in the order found:
        the token patterns' from the tokens that open one (`opening`), the shapes' where
        `shaped` (the text may hold one), then the product matches `products` ((match id,
        start, end), as the `PhraseMatcher` gives them)."""
        found: list[_Found] = []
        item = table.item
        digit = (opening or shaped) \
            and (_ASCII_DIGIT if text.isascii() else _ANY_DIGIT).search(text) is not None
        # Every pattern ends on a number: a text without a digit has no match.
        if opening and digit:
            # Offsets and token texts come from the token table: `doc[start:end]` costs a
            # Python slice normalisation and a Span, and `Doc.char_span` more, several times
            # the lookups.
            for key, start, end in self.patterns.find_at(text, table, opening):
                first, last = item(start, 0), item(end - 1, 0)
                stop_char = last + item(end - 1, 1)
                value = _normalise(key, text[first:stop_char], text[first:first + item(start, 1)],
                                   text[last:stop_char])
                if value is not None:
                    found.append((start, end, _LABELS[key], value, first, stop_char))
        shapes = _shapes(text, text.lower(), digit) if shaped else None
        starts: list[int] | None = None
        for match in _shape_matches(shapes, text) if shapes is not None else ():
            key = match.lastgroup or ""
            shape = match.group().rstrip(".,;:") if key == "KB_URL" else match.group()
            value = _normalise(key, shape, shape, shape)
            if value is None:
                continue
            if starts is None:
                starts = table[:, 0].tolist()
            first, stop = _expand(starts, table, match.start(), match.start() + len(shape))
            if stop > first:
                found.append((first, stop, _LABELS[key], value, starts[first],
                              starts[stop - 1] + item(stop - 1, 1)))
        names = self.names
        cased: list[_Found] = []  # after the other aliases' matches, as a second matcher's were
        for match_id, start, end in products:
            stop_char = item(end - 1, 0) + item(end - 1, 1)
            name = names.get(match_id)
            if name is not None:
                found.append((start, end, PRODUCT, name, item(start, 0), stop_char))
                continue
            name, forms = self.cased[match_id]
            if tuple(text[item(i, 0):item(i, 0) + item(i, 1)] for i in range(start, end)) in forms:
                cased.append((start, end, PRODUCT, name, item(start, 0), stop_char))
        found += cased
        return found


def _same_docs(read: list[Doc], docs: Sequence[Doc]) -> bool:
    """Whether `read` is the docs of `docs` with tokens, in order (the same objects)."""
    if len(read) > len(docs):
        return False
    if len(read) == len(docs):
        return all(map(is_, read, docs))
    return all(map(is_, read, (doc for doc in docs if len(doc))))


def _places_by_doc(opens: numpy.ndarray, places: numpy.ndarray) -> dict[int, list[int]]:
    """doc index -> the token indices in that doc of the batch positions `places` (in order),
    for a batch whose docs' tokens begin at `opens`."""
    found: dict[int, list[int]] = {}
    if len(places):
        owners = numpy.searchsorted(opens, places, side="right") - 1
        for owner, place in zip(owners.tolist(), (places - opens[owners]).tolist(),
                                strict=True):
            found.setdefault(owner, []).append(place)
    return found


# The characters the shape gate reads, by class (a class per character but for the digits 1-9,
# which it need not tell apart), in either case; every other byte is class 0.
_GATE_CLASSES = ("0", "123456789", "x", "a", "-", "k", "b", ":", "/", ".", "h", "_")


def _gate_table() -> bytes:
    """`bytes.translate` table from a byte to its `_GATE_CLASSES` class (numbered from 1), or 0."""
    table = bytearray(256)
    for number, members in enumerate(_GATE_CLASSES, 1):
        for char in members:
            table[ord(char)] = table[ord(char.upper())] = number
    return bytes(table)


def _gate_pairs(*pairs: str, firsts: str = "") -> numpy.ndarray:
    """Flags for the 256 pairs of classes (first class times 16 plus the second), set for the
    classes of the character pairs `pairs` and for any pair opening with the class of one of
    `firsts`."""
    table = _gate_table()
    flags = numpy.zeros(256, dtype=bool)
    for first, second in pairs:
        flags[table[ord(first)] * 16 + table[ord(second)]] = True
    for first in firsts:
        flags[table[ord(first)] * 16:table[ord(first)] * 16 + 16] = True
    return flags


_GATE_TABLE = _gate_table()
# What `_shapes` looks for before it picks a shape, as pairs of characters, in either case: a
# text holding none of them cannot hold a shape. "0x" (HEX), "aa" ("aadsts" and "caa", VENDOR),
# "a-" ("ora-", VENDOR), "_" and anything (ERR_ and BUGCHECK), "kb" (KB_REF), ":/" ("://",
# KB_URL), a "." and a digit, "h1" and "h2" (the dotted digits and release names of SMTP and
# VERSION, as `_DOTTED_DIGIT` reads them; "h3" to "h9" come with them, in one class).
_SHAPE_PAIRS = _gate_pairs("0x", "aa", "a-", "kb", ":/", ".0", ".1", "h1", firsts="_")
# What joins a batch's texts for the shape gate: a byte of class 0.
_GAP = "\x00"


def _shaped_docs(texts: list[str]) -> set[int]:
    """Indices of the texts for which `_shapes` may not be None: every text that is not ASCII
    (its tests differ), and the ASCII ones holding a pair of `_SHAPE_PAIRS`. One look at the
    pairs of characters of the batch's texts joined, each as the pair of their classes in a
    byte: each `in` test `_shapes` makes scans a text, and a scan per literal of the joined
    texts, or a regex of them all, cost more than these few array passes."""
    joined = _GAP.join(texts)
    found: set[int] = set()
    if joined.isascii():
        raw = joined.encode("ascii")
    else:
        # a "?" (class 0) for each character that is not ASCII keeps every offset
        raw = joined.encode("ascii", "replace")
        found.update(index for index, text in enumerate(texts) if not text.isascii())
    classes = numpy.frombuffer(raw.translate(_GATE_TABLE), dtype=numpy.uint8)
    pairs = classes[:-1] * numpy.uint8(16)
    pairs += classes[1:]
    hits = numpy.flatnonzero(_SHAPE_PAIRS.take(pairs))
    if len(hits):
        ends = numpy.cumsum([len(text) + 1 for text in texts])  # where each text's gap is
        found.update(numpy.unique(numpy.searchsorted(ends, hits, side="right")).tolist())
    return found


class _AliasTrie:
    """The product `PhraseMatcher`'s matches, found for a batch of docs at once from their LOWER
    ids: a match can only start where a one-token alias's token, or a longer alias's first two
    tokens, stand, which one look at the batch's ids finds; the aliases are walked through
    from those places alone. Each doc's matches come in the matcher's order: by start, then
    end, then, for one span, its match ids in the order the matcher gives them (read from the
    matcher itself, on each alias)."""

    def __init__(self, matcher: PhraseMatcher, aliases: list[Doc]) -> None:
        # LOWER id -> (match ids of the aliases ending there, in the matcher's order; the
        # next tokens, as the same kind of dict)
        self.root: dict[int, tuple[list[int], dict]] = {}
        singles: set[int] = set()
        firsts: set[int] = set()
        pairs: set[int] = set()
        self.longest = 1
        for alias in aliases:
            ids = alias.to_array([LOWER]).tolist() if len(alias) else []
            if not ids:
                continue
            self.longest = max(self.longest, len(ids))
            node: tuple[list[int], dict] | None = None
            children = self.root
            for token in ids:
                node = children.setdefault(token, ([], {}))
                children = node[1]
            if node is not None and not node[0]:  # the first alias of these tokens
                node[0].extend(key for key, start, end in matcher(alias)
                               if (start, end) == (0, len(ids)))
            if len(ids) == 1:
                singles.add(ids[0])
            else:
                firsts.add(ids[0])
                pairs.add(_pair(ids[0], ids[1]))
        self.reach = numpy.arange(self.longest)
        self.singles = _IdSet(singles)  # the tokens of one-token aliases
        self.pairs = _IdSet(pairs)  # the first two of longer ones, as `_pair` mixes them
        # Whether a one-token alias or a longer alias's first token has these low 16 bits
        self.flags = _IdSet(singles | firsts).flags

    def find(self, lowers: numpy.ndarray,
             opens: numpy.ndarray) -> dict[int, list[tuple[int, int, int]]]:
        """doc index -> its (match id, start, end) matches, for the docs with any, of a batch
        whose LOWER ids are `lowers` and whose docs' tokens begin at `opens`."""
        # Places whose token's low bits are those of a one-token alias or of a longer alias's
        # first token, then those where the alias or the first two tokens are one's.
        places = numpy.flatnonzero(self.flags.take(lowers.astype(numpy.uint16)))
        if len(places):
            ids = lowers[places]
            after = lowers.take(places + 1, mode="clip")  # past the end: a place walked in vain
            places = places[self.singles.has(ids) | self.pairs.has(_pair(ids, after))]
        found: dict[int, list[tuple[int, int, int]]] = {}
        if not len(places):
            return found
        owners = numpy.searchsorted(opens, places, side="right") - 1
        starts = places - opens[owners]
        # The tokens from each place on, as far as the longest alias reaches (in one gather:
        # a slice and its conversion per place cost more than the walk), and how many of them
        # are the doc's (the rest belong to the docs after it, or repeat the batch's last).
        windows = lowers.take(places[:, None] + self.reach, mode="clip").tolist()
        lengths = (opens[owners + 1] - places).tolist()
        root, longest = self.root, self.longest
        for owner, start, length, window in zip(owners.tolist(), starts.tolist(), lengths,
                                                windows, strict=True):
            end = start
            children = root
            for token in window if length >= longest else window[:length]:
                node = children.get(token)
                if node is None:
                    break
                end += 1
                keys, children = node
                for key in keys:
                    matches = found.get(owner)
                    if matches is None:
                        found[owner] = [(key, start, end)]
                    else:
                        matches.append((key, start, end))
        return found


class _IdSet:
    """A set of LOWER ids (or `_pair` mixes), asked about many at once. `numpy.isin` sorts the
    values asked about, about 30 µs a ticket for a batch's tokens, and a binary search per value
    half that: the set's ids' low 16 bits index a table of 65,536 flags, which turns most values
    away in one gather, and only the few it lets through are searched for."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.ids = numpy.array(sorted(ids), dtype=numpy.uint64)
        self.flags = numpy.zeros(1 << 16, dtype=bool)
        self.flags[self.ids.astype(numpy.uint16)] = True

    def has(self, values: numpy.ndarray) -> numpy.ndarray:
        """Which of `values` are in the set."""
        if not len(self.ids):
            return numpy.zeros(len(values), dtype=bool)
        return self.ids.take(self.ids.searchsorted(values), mode="clip") == values

    def places(self, values: numpy.ndarray) -> numpy.ndarray:
        """The indices, in order, of `values` that are in the set."""
        places = numpy.flatnonzero(self.flags.take(values.astype(numpy.uint16)))
        return places[self.has(values[places])] if len(places) else places


def _pair(first: numpy.ndarray | int, second: numpy.ndarray | int) -> numpy.ndarray | int:
    """A 64-bit mix of two LOWER ids (on arrays, element by element), for a set of id pairs:
    a collision only has the trie walk a place it did not need to."""
    if isinstance(first, int):
        return (first * _PAIR_FACTOR + second) & 0xFFFF_FFFF_FFFF_FFFF
    return first * numpy.uint64(_PAIR_FACTOR) + second


_PAIR_FACTOR = 0x9E37_79B9_7F4A_7C15


def _expand(starts: list[int], table: numpy.ndarray, begin: int, end: int) -> tuple[int, int]:
    """Token start and end of ``doc.char_span(begin, end, alignment_mode="expand")`` (for a
    non-empty span of the doc's text), from the tokens' offsets (`starts`) and `token_table`:
    the tokens and the space after each tile the text, so the token holding a character is the
    last one starting at or before it."""
    first = bisect_right(starts, begin) - 1
    if begin == starts[first] + table.item(first, 1):  # on the token's trailing space
        first += 1
    return first, bisect_right(starts, end - 1)


# An entity found in a doc: token start and end, label, value, character start and end.
_Found = tuple[int, int, str, str, int, int]
_ENTITIES_KEY = "fixedit_entities"
_START = itemgetter(0)


def _non_overlapping(found: list[_Found]) -> list[tuple[str, str, int, int]]:
    """(label, value, start_char, end_char) of the entities that do not overlap, in text order.

    The rule of `spacy.util.filter_spans` (longest first, then the earliest; a candidate is
    dropped when its first or last token is taken), on plain tuples: building a `Span` and a
    `SpanGroup` per entity cost more than finding it."""
    if len(found) > 1:
        # Most docs' entities do not overlap: the rule keeps them all, and text order is token
        # order. Where some do, the stable sort by start keeps equal spans in the order found,
        # the tie the rule's own (stable) sort breaks by.
        found.sort(key=_START)
        end = 0
        for entity in found:
            if entity[0] < end:
                break
            end = entity[1]
        else:
            return [(label, value, start, end) for _, _, label, value, start, end in found]
        found = sorted(found, key=lambda f: (f[1] - f[0], -f[0]), reverse=True)
        kept: list[_Found] = []
        taken: set[int] = set()
        for entity in found:
            if entity[0] not in taken and entity[1] - 1 not in taken:
                kept.append(entity)
                taken.update(range(entity[0], entity[1]))
        found = sorted(kept, key=_START)
    return [(label, value, start, end) for _, _, label, value, start, end in found]


@Language.factory(FACTORY)
def make_entity_tagger(nlp: Language, name: str) -> EntityTagger:
    """spaCy factory for EntityTagger."""
    return EntityTagger(nlp)


@dataclass(frozen=True, slots=True)
class Mention:
    """One entity found in a cleaned text: its label, canonical value and character span.

    For a product, `value` may carry its version ("GlobalProtect 6.2.1"); `product` is the bare
    canonical name.
    """

    label: str
    value: str
    start: int
    end: int
    product: str | None = None


# `Mention(...)` without the frozen dataclass's `__init__`, which sets each field through
# ``object.__setattr__`` (about twice the time of a new object and its slots set directly): the
# same object, built for every entity of every doc.
_NEW = object.__new__
_SET_LABEL, _SET_VALUE, _SET_START, _SET_END, _SET_PRODUCT = (
    Mention.label.__set__, Mention.value.__set__, Mention.start.__set__,  # type: ignore[attr-defined]
    Mention.end.__set__, Mention.product.__set__)  # type: ignore[attr-defined]


def _mention(label: str, value: str, start: int, end: int, product: str | None) -> Mention:
    """``Mention(label, value, start, end, product)``."""
    mention = _NEW(Mention)
    _SET_LABEL(mention, label)
    _SET_VALUE(mention, value)
    _SET_START(mention, start)
    _SET_END(mention, end)
    _SET_PRODUCT(mention, product)
    return mention


_VERSION_GAP = re.compile(r"\s*(?:\(|-|v\.?|ver\.?|version|build|release)?\s*", re.IGNORECASE)
# A model number right after a device ("Latitude 5420", "LaserJet M404dn", "Yealink T54W"): a
# word with digits, not a quantity ("Synology 100 GB", "Dell 3 days").
_MODEL = re.compile(
    r"[ \t]+(?:model[ \t]+)?(?P<model>(?=[A-Za-z]{0,4}\d)(?:[A-Za-z]{1,4}-?\d{1,5}|\d{3,5})"
    r"[A-Za-z]{0,4}\+?(?:[ \t](?:G\d{1,2}|Gen[ \t]?\d{1,2}))?)(?![\w.+-])"
    r"(?![ \t]*(?:gb|mb|tb|kb|%|x\b|hours?|hrs?|mins?|minutes?|days?|users?|times|pages?|ms"
    r"|seconds?|secs?|years?|months?|weeks?|pcs|units?)\b)",
    re.IGNORECASE,
)
_MODEL_CATEGORIES = frozenset({"hardware", "printing", "phone_voip", "network", "server",
                               "backup", "mobile_device"})


def _model(text: str, product: str, end: int) -> str | None:
    """The model number written right after a device product, if any."""
    if product_categories().get(product) not in _MODEL_CATEGORIES:
        return None
    match = _MODEL.match(text, end)
    return match.group("model") if match else None


def mentions(doc: Doc) -> list[Mention]:
    """Entities of a processed doc; a version or model number right after a product is folded in."""
    spans: list[tuple[str, str, int, int]] | None = doc.user_data.get(_ENTITIES_KEY)
    if not spans:
        return []
    text = doc_text(doc)
    found: list[Mention] = []
    consumed = 0  # text before this offset already belongs to a mention (a folded version/model)
    for index, (label, value, start, end) in enumerate(spans):
        if start < consumed or label == VERSION:
            continue
        if label == PRODUCT and index + 1 < len(spans):
            next_label, next_value, next_start, next_end = spans[index + 1]
            if next_label == VERSION and _VERSION_GAP.fullmatch(text, end, next_start):
                found.append(_mention(PRODUCT, f"{value} {next_value}", start, next_end, value))
                consumed = next_end
                continue
        model = _model(text, value, end) if label == PRODUCT else None
        if model is not None:
            consumed = text.index(model, end) + len(model)
            found.append(_mention(PRODUCT, f"{value} {model}", start, consumed, value))
            continue
        found.append(_mention(label, value, start, end, value if label == PRODUCT else None))
    return found
