"""Cleaning: HTML to text, e-mail noise removal, and the offset map back to the stored text.

Every cleaned text keeps a map to the text it came from, so evidence can point at the original
characters of a note even after tags, entities, quoted replies and signatures are gone. The map is
a list of runs: a *copy* run is character-for-character identical to the original; a *replace* run
(a decoded entity, a newline standing for a ``<p>``, squeezed whitespace) maps as a whole to the
original range it replaced.
"""

from __future__ import annotations

import html
import logging
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import chain

from extract.email_noise import noise_ranges, tag_ranges

__all__ = [
    "MAX_CLEAN_CHARS", "MAX_TOKEN_CHARS", "CleanText", "clean_text", "html_to_text",
    "looks_like_html",
]

log = logging.getLogger(__name__)

# spaCy refuses longer texts (Language.max_length); a note this long is a pasted log or dump.
MAX_CLEAN_CHARS = 1_000_000
# A run this long without whitespace is not words (base64, a hex dump, "<b<b<b..."): no cue,
# code or product is read from it, and spaCy's affix splitting of one giant token is slow.
MAX_TOKEN_CHARS = 2_000
# Starts only where a run starts, so each run is scanned once: linear in the text.
_GIANT_RUN = re.compile(rf"(?<!\S)\S{{{MAX_TOKEN_CHARS + 1},}}")

_TAG_HINT = re.compile(
    r"<(?:/?(?:html|body|head|div|p|br|span|table|tbody|tr|td|th|font|b|i|u|strong|em|ul|ol|li"
    r"|a|img|h[1-6]|blockquote|hr|style|script|meta|pre|o:p)(?=[\s/>])[^<>]*>|!--)",
    re.IGNORECASE,
)
_ENTITY_HINT = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
# Every token starts with "<", "&" or whitespace, and the pattern begins with that one
# character class so that the regex engine skips from one such character to the next in C
# instead of trying each alternative at every character; the alternatives then check, looking
# back, which character it was. The spans and group names are those of the tokens as written
# out plainly: <!--...--> comments, <!...> and <?...> declarations, tags, entities, and
# whitespace other than a lone " " (which is copied with the words around it, see `html_to_text`).
_HTML_TOKEN = re.compile(
    r"[<&\s](?:"
    r"(?<=<)(?:(?P<comment>!--.*?(?:-->|\Z))"
    r"|(?P<decl>![^<>]*>|\?[^<>]*>)"
    r"|(?P<tag>/?(?P<name>[a-zA-Z][a-zA-Z0-9:-]*)(?=[\s/>])[^<>]*>))"
    r"|(?<=&)(?P<entity>(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?)"
    r"|(?P<space>(?<=[ ])\s+|(?<=[^\S ])\s*))",
    re.DOTALL,
)
_ENTITY_ONLY = re.compile(_ENTITY_HINT.pattern)
# A text between two tags that is one entity of `_HTML_TOKEN` and nothing else ("&nbsp;", an
# empty paragraph's content in an Outlook note). Its entity pattern, whole: each part of it is
# greedy and stops where the next cannot go on, so where a full match exists it is the only
# one, and `_HTML_TOKEN` finds that same entity as the segment's one token.
_LONE_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?")
# The tokens of `_HTML_TOKEN` that start with "<" (comments, declarations, tags; in its order),
# as a split pattern: the token in group 1, the tag's name in group 2. Starting with the
# literal "<", it is searched for in C: `_HTML_TOKEN`'s leading character class stops at every
# space, and between its tags an HTML note is mostly words and single spaces, where no entity
# or whitespace token starts. The alternatives start with different characters, so their
# order cannot change a match: the tags, by far the most, are tried first, and the parts that
# cannot give back what they took (nothing after them could match it) are possessive, which
# spares the engine its backtracking state; a comment's body runs up to its first "-->" as the
# lazy ".*?" did, but in one sweep.
_HTML_SPLIT = re.compile(
    r"(<(?:/?([a-zA-Z][a-zA-Z0-9:-]*+)(?=[\s/>])[^<>]*+>|!--(?:[^-]++|-(?!->))*+(?:-->|\Z)"
    r"|![^<>]*>|\?[^<>]*>))",
    re.DOTALL,
)
# Elements whose content is never shown to a reader (or, for blockquote, is a quoted reply).
_DROP_CONTENT = frozenset({"style", "script", "head", "title", "xml", "blockquote"})
_BLOCK = frozenset({
    "p", "div", "br", "tr", "table", "tbody", "thead", "ul", "ol", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "pre", "section", "article", "header", "footer", "dd", "dt", "address", "dl",
})
_CELL = frozenset({"td", "th"})
# What `html_to_text` does with each tag that does anything, by lowercased name.
_TAG_KINDS = {**dict.fromkeys(_DROP_CONTENT, "drop"), "li": "li", **dict.fromkeys(_BLOCK, "block"),
              **dict.fromkeys(_CELL, "cell")}
# `_TAG_KINDS` by tag name as written ("P", "o:p"), "" for a tag that does nothing: one lookup
# where lowercasing the name first took as long again, on every tag of an HTML note. Tag
# names are few (a note repeats a dozen of them); cleared past `_KIND_CACHE_SIZE` all the same.
_KIND_BY_NAME: dict[str, str] = {}
_KIND_CACHE_SIZE = 4096


def _tag_kind(name: str) -> str:
    """`_TAG_KINDS` of the tag `name` (as written) lowercased, "" for none; cached."""
    if len(_KIND_BY_NAME) >= _KIND_CACHE_SIZE:
        _KIND_BY_NAME.clear()
    kind = _KIND_BY_NAME[name] = _TAG_KINDS.get(name.lower(), "")
    return kind


# Trailing spaces of a line, leading spaces of a line, the third and further newlines of a run,
# and the whitespace at either end of the text. Each alternative starts only at the start of a
# run (the look-behinds), so a long run of spaces is scanned once, not once per character; all
# start with one whitespace character, matched first so that the engine skips to the next one
# in C (see `_HTML_TOKEN`), and then check, looking back, where they stand. Most whitespace
# is a lone space between two words, where none can match: each needs whitespace or the end
# next, or a line break or the text's start before. That one test (atomic, as it takes no
# characters) turns such a space away before the five alternatives are tried one by one.
_SQUEEZE = re.compile(
    r"\s(?>(?=\s|\Z)|(?<=\n\s)|(?<=\A\s))"
    r"(?:(?<=[ \t])(?<![ \t][ \t])[ \t]*+(?=\n)|(?<=\n[ \t])[ \t]*|(?<=\n\n\n)\n*"
    r"|(?<=\A\s)\s*|(?<!\s\s)\s*+\Z)")

# A line break in a run of whitespace that `_SQUEEZE` may cut inside the text: one next to
# whitespace other than a line break, or the first of three line breaks (see `_squeeze_spans`).
# The literal "\n" first, so that the engine skips from one line break to the next in C.
_ODD_BREAK = re.compile(r"\n(?:(?<=[^\S\n]\n)|\n\n|[^\S\n])")
_SPACE_RUN = re.compile(r"\s+")


# html.unescape of one entity ("&nbsp;"), cached by the entity: html.unescape runs a regex
# substitution with a Python callback, some 2 µs, and a few entities make up nearly all.
_unescape = lru_cache(maxsize=4096)(html.unescape)

# One run of the offset map: (clean_start, orig_start, orig_end, copy). Plain tuples: a note
# can hold thousands of runs, and a tuple is built several times faster than an object.
_Run = tuple[int, int, int, bool]


def _single_copy(runs: list[_Run]) -> int | None:
    """How far the original text's offsets lie after the cleaned text's, when the whole map is
    one copied run starting at clean offset 0; else None (the runs must be bisected)."""
    if len(runs) == 1 and runs[0][3] and runs[0][0] == 0:
        return runs[0][1]
    return None


class CleanText:
    """Cleaned text plus the map from its characters back to the original text."""

    __slots__ = ("_key_list", "_run_list", "_single_copy", "original_length", "text")

    def __init__(self, text: str, runs: list[_Run], original_length: int) -> None:
        self.text = text
        self._run_list: list[_Run] | None = runs
        self._key_list: list[int] | None = [run[0] for run in runs]
        self.original_length = original_length
        self._single_copy = _single_copy(runs)

    @classmethod
    def identity(cls, text: str) -> CleanText:
        """A cleaned text that is the original, unchanged."""
        # Built field by field, and without its map: most texts are plain, and an identity's
        # offsets are mapped by `_single_copy` alone (0), so its one run is seldom read; the
        # `_runs` and `_keys` properties make it when it is. That halves the time (0.55 us).
        clean = cls.__new__(cls)
        clean.text = text
        clean._run_list = clean._key_list = None
        clean.original_length = len(text)
        clean._single_copy = 0
        return clean

    @property
    def _runs(self) -> list[_Run]:
        """The map's runs, in order (see `_Run`)."""
        runs = self._run_list
        if runs is None:  # an identity's, made when first read
            runs = self._run_list = [(0, 0, len(self.text), True)] if self.text else []
        return runs

    @property
    def _keys(self) -> list[int]:
        """Where each run starts in the cleaned text, for bisecting."""
        keys = self._key_list
        if keys is None:
            keys = self._key_list = [0] if self.text else []
        return keys

    def __repr__(self) -> str:
        return f"CleanText({self.text[:40]!r}..., runs={len(self._runs)})"

    def _run_at(self, index: int) -> _Run:
        return self._runs[bisect_right(self._keys, index) - 1]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map the cleaned span [start, end) to the span of the original text it came from."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError(f"span {start}:{end} is outside the cleaned text")
        if not self.text:
            return 0, 0
        if self._single_copy is not None:
            # most texts are one copied run (plain text, or HTML with nothing around it): an
            # offset then moves by the run's start, with no bisect for either end
            return start + self._single_copy, end + self._single_copy
        if start == end:
            clean_start, orig_start, _, copy = self._run_at(min(start, len(self.text) - 1))
            point = orig_start + (start - clean_start) if copy else orig_start
            return point, point
        clean_start, orig_start, _, copy = self._run_at(start)
        if copy:
            orig_start += start - clean_start
        clean_start, last_start, orig_end, copy = self._run_at(end - 1)
        if copy:
            orig_end = last_start + (end - clean_start)
        return orig_start, orig_end

    def without(self, ranges: Iterable[tuple[int, int]]) -> CleanText:
        """A new CleanText with the cleaned-text ranges removed; the map still points home."""
        keep: list[tuple[int, int]] = []
        cursor = 0
        for start, end in sorted(ranges):
            start, end = max(start, cursor), min(end, len(self.text))
            if start >= end:
                continue
            keep.append((cursor, start))
            cursor = end
        if not keep and cursor == 0:
            return self
        keep.append((cursor, len(self.text)))
        return self._keeping([(start, end) for start, end in keep if start < end])

    def _keeping(self, keep: list[tuple[int, int]], kept_text: str | None = None) -> CleanText:
        """A new CleanText of the cleaned-text ranges `keep` (sorted, non-empty, apart), or this
        one when `keep` is all of it. `kept_text`, when given, is the text they make, joined."""
        if not self.text or keep == [(0, len(self.text))]:
            return self
        text = self.text
        offset = self._single_copy
        runs: list[_Run]
        if offset is None:
            runs = self._kept_runs(keep)
        else:
            # One copied run (most texts): each range kept is a copied run of its own, as
            # `_kept_runs` would make it, without walking the map.
            runs = []
            size = 0
            for start, end in keep:
                runs.append((size, start + offset, end + offset, True))
                size += end - start
        if kept_text is None:
            kept_text = "".join([text[start:end] for start, end in keep])
        return CleanText(kept_text, runs, self.original_length)

    def _kept_runs(self, keep: list[tuple[int, int]]) -> list[_Run]:
        """The runs of the map of the cleaned-text ranges `keep` (sorted, non-empty, apart).

        Each range keeps a piece of each run it covers: the runs inside it whole, moved to
        where the range lands (one list comprehension), the first and the last cut to the
        range. `_Builder.copy` would join a copied piece to the copied run before it where it
        goes on from it in the original, but none does: no run of a map goes on from the run
        before it (a builder joins those), and between two ranges kept lies at least one
        character cut, which stands for at least one character of the original.
        """
        keys, runs = self._keys, self._runs
        kept: list[_Run] = []
        size = 0
        for start, end in keep:
            first = bisect_right(keys, start) - 1
            last = bisect_right(keys, end - 1, first) - 1
            shift = size - start
            clean_start, orig_start, orig_end, copy = runs[first]
            if copy:
                orig_start += start - clean_start
                orig_end = orig_start + ((keys[first + 1] if first < last else end) - start)
            kept.append((size, orig_start, orig_end, copy))
            if first < last:
                if first + 1 < last:
                    kept += [(run_start + shift, run_orig_start, run_orig_end, run_copy)
                             for run_start, run_orig_start, run_orig_end, run_copy
                             in runs[first + 1:last]]
                clean_start, orig_start, orig_end, copy = runs[last]
                if copy:
                    orig_end = orig_start + (end - clean_start)
                kept.append((clean_start + shift, orig_start, orig_end, copy))
            size += end - start
        return kept


class _Builder:
    """Accumulates cleaned text and its runs.

    The last copy run stays open (`_open_*`) while the text appended goes on copying the
    original character for character, so a copy run is one tuple however many pieces it
    took; it is closed when anything else is appended or the text is built.
    """

    __slots__ = ("_open_clean", "_open_end", "_open_start", "_parts", "_runs", "_size")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._runs: list[_Run] = []
        self._size = 0
        # The open copy run: its clean start and original range; -1 when there is none.
        self._open_clean = -1
        self._open_start = 0
        self._open_end = 0

    def _close(self) -> None:
        if self._open_clean >= 0:
            self._runs.append((self._open_clean, self._open_start, self._open_end, True))
            self._open_clean = -1

    def copy(self, piece: str, orig_start: int, orig_end: int) -> None:
        """Append text that is identical to original[orig_start:orig_end]."""
        if not piece:
            return
        if self._open_clean < 0 or self._open_end != orig_start:
            self._close()
            self._open_clean = self._size
            self._open_start = orig_start
        self._open_end = orig_end
        self._parts.append(piece)
        self._size += len(piece)

    def replace(self, piece: str, orig_start: int, orig_end: int) -> None:
        """Append text that stands, as a whole, for original[orig_start:orig_end]."""
        if not piece:
            return
        if self._open_clean >= 0:
            self._close()
        self._runs.append((self._size, orig_start, orig_end, False))
        self._parts.append(piece)
        self._size += len(piece)

    def last_char(self) -> str:
        """The last character appended so far (a newline at the start)."""
        return self._parts[-1][-1] if self._parts else "\n"

    def ends_with(self, suffix: str) -> bool:
        """True when the text appended so far ends with `suffix` (within the last piece)."""
        return bool(self._parts) and self._parts[-1].endswith(suffix)

    def build(self, original_length: int) -> CleanText:
        """The finished CleanText."""
        self._close()
        return CleanText("".join(self._parts), self._runs, original_length)


def looks_like_html(text: str) -> bool:
    """True when the text carries HTML markup (not just a stray '<')."""
    return "<" in text and _TAG_HINT.search(text) is not None


_OPEN_CLOSE = {
    name: re.compile(rf"<(/?){name}(?=[\s/>])[^<>]*>", re.IGNORECASE) for name in _DROP_CONTENT
}


def _drop_until_close(text: str, name: str, position: int) -> int:
    """Return the index just past the element `name` opened before `position` (nesting-aware)."""
    depth = 1
    for match in _OPEN_CLOSE[name].finditer(text, position):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return match.end()
    return len(text)


def html_to_text(text: str) -> CleanText:
    """Strip tags, decode entities, turn block elements into line breaks; keep the offset map."""
    unsqueezed = _html_pieces(text)
    return unsqueezed.without(_squeeze_spans(unsqueezed.text))


def _html_pieces(text: str) -> CleanText:
    """`html_to_text` before its whitespace is squeezed (`_SQUEEZE`).

    The text is split at its tags, comments and declarations (`_HTML_SPLIT`: strings, where a
    search per tag made a match object and three calls on it), read in steps of three (`_steps`:
    a zip over one iterator, where indexing the list took a few operations more per token),
    and positions are counted from the lengths. The text between two of them is one copied
    piece unless it holds an entity or whitespace other than single spaces (see
    `_segment_tokens`). What `_Builder.copy` and `_Builder.replace` do is written out here over
    local variables: an HTML note is dozens of tokens, mostly tags that add nothing, and a
    method call or two per token was most of this function's time. The state is the builder's:
    the pieces, the closed runs, the open copy run (`open_clean` -1 when there is none), and
    `last`, the last character appended ("\n" before any, as `_Builder.last_char`).
    """
    parts: list[str] = []
    runs: list[_Run] = []
    size = 0
    open_clean, open_start, open_end = -1, 0, 0
    last = "\n"
    # The split alternates the text between tokens with a token and its tag name (None for a
    # comment or a declaration); `_steps` reads it as (text, token, name) steps, the last with
    # no token. `start` is where the text of the step at hand starts.
    steps = _steps(_HTML_SPLIT.split(text))
    start = 0
    while True:
        for segment, token, name in steps:
            if segment:
                position = start
                start += len(segment)
                tokens: Iterable[tuple[str | None, int, int]]
                if "&" not in segment and "  " not in segment and segment.isprintable():
                    # Words and single spaces (most segments): one text token, which the loop
                    # below would copy, written out here without the token's tuple and the loop.
                    if segment[0] == " " and last in " \n":
                        segment = segment[1:]
                    if segment:
                        if open_clean < 0 or open_end != start - len(segment):
                            if open_clean >= 0:
                                runs.append((open_clean, open_start, open_end, True))
                            open_clean, open_start = size, start - len(segment)
                        open_end = start
                        parts.append(segment)
                        size += len(segment)
                        last = segment[-1]
                    tokens = ()
                elif "&" not in segment:
                    tokens = _segment_tokens(text, position, start)
                elif segment[0] == "&" and _LONE_ENTITY.fullmatch(segment) is not None:
                    tokens = (("entity", position, start),)
                else:
                    tokens = _segment_tokens(text, position, start)
                for kind, token_start, token_end in tokens:
                    # A token becomes `piece` (a replace run), or is copied as it is (`verbatim`).
                    piece = ""
                    verbatim = False
                    if kind is None:
                        # Text between tokens. Its leading lone space is dropped after a line break
                        # or a space, as a whitespace token would be; any other lone space sits
                        # between two visible characters and is kept.
                        if text[token_start] == " " and last in " \n":
                            token_start += 1
                        verbatim = token_start < token_end
                    elif kind == "entity":
                        entity = text[token_start:token_end]
                        decoded = _unescape(entity)
                        if decoded == entity:
                            verbatim = True
                        else:
                            piece = decoded.replace("\xa0", " ")
                    elif last not in " \n":  # whitespace
                        if token_end - token_start == 1 and text[token_start] == " ":
                            verbatim = True
                        else:
                            piece = " "
                    if verbatim:
                        if open_clean < 0 or open_end != token_start:
                            if open_clean >= 0:
                                runs.append((open_clean, open_start, open_end, True))
                            open_clean, open_start = size, token_start
                        open_end = token_end
                        parts.append(text[token_start:token_end])
                        size += token_end - token_start
                        last = text[token_end - 1]
                    elif piece:
                        if open_clean >= 0:
                            runs.append((open_clean, open_start, open_end, True))
                            open_clean = -1
                        runs.append((size, token_start, token_end, False))
                        parts.append(piece)
                        size += len(piece)
                        last = piece[-1]
            position = start
            start += len(token)
            if name is None:
                continue  # a comment or a declaration: dropped
            # Each kind tests what only it needs: most tags are none of these, and add nothing.
            kind = _KIND_BY_NAME.get(name)
            if kind is None:
                kind = _tag_kind(name)
            if not kind:
                continue
            piece = ""
            end = start
            if kind == "drop":
                if not text.startswith("</", position) and text[start - 2:start] != "/>":
                    # The element's content is skipped, up to the end of its closing tag.
                    end = _drop_until_close(text, name.lower(), start)
                    piece = "\n"
            elif kind == "li":
                if not text.startswith("</", position):
                    piece = "\n- "
            elif kind == "block":
                # <li><p>item</p>: the bullet keeps its item.
                # (A bullet ends in a space: `last` rules most tags out without a method call.)
                if last != " " or not parts[-1].endswith("\n- "):
                    piece = "\n"
            elif last not in " \n":
                # Cells are separated whether or not the HTML closes them (<td>a<td>b).
                piece = " "
            if piece:
                if open_clean >= 0:
                    runs.append((open_clean, open_start, open_end, True))
                    open_clean = -1
                runs.append((size, position, end, False))
                parts.append(piece)
                size += len(piece)
                last = piece[-1]
            if end > start:
                # Past the skipped content, step by step. Where a token ends right at its end
                # (its closing tag, mostly) the split goes on from there; else the text after
                # it is split anew, as the tokens there may differ from those of the whole text.
                while start < end and (step := next(steps, None)) is not None:
                    start += len(step[0]) + len(step[1])
                if start != end:
                    steps = _steps(_HTML_SPLIT.split(text[end:]))
                    start = end
                    break
        else:
            break
    if open_clean >= 0:
        runs.append((open_clean, open_start, open_end, True))
    return CleanText("".join(parts), runs, len(text))


def _steps(pieces: list[str | None]) -> Iterator[tuple[str, str, str | None]]:
    """The pieces of an `_HTML_SPLIT` split three by three: (text, token, tag name), the last
    step's token "" and name None."""
    rest = iter(chain(pieces, ("", None)))
    return zip(rest, rest, rest, strict=True)  # type: ignore[return-value]


def _squeeze_spans(text: str) -> list[tuple[int, int]]:
    """The spans of ``_SQUEEZE.finditer(text)``, found where they can be.

    Away from the text's ends, every span touches a line break: trailing spaces end at one,
    leading spaces follow one, and extra line breaks are ones. So `_SQUEEZE` runs only over the
    runs of whitespace at either end and over each run holding a line break, each with the
    character after it, so that its look-arounds see what they would see in the whole text. A
    run of line breaks alone, most of them in an HTML note (block tags), is cut as `_SQUEEZE`
    cuts it, without running it: whole at either end of the text, else from its third line
    break on; so a run of one or two line breaks inside the text, the most common by far, is
    not even visited: `_ODD_BREAK` (a literal "\n" first, which `_SQUEEZE` is not: it stops at
    every space between two words) finds the others, skipping those in C.
    """
    length = len(text)
    lead = length - len(text.lstrip())
    if lead == length:  # nothing but whitespace
        return [match.span() for match in _SQUEEZE.finditer(text)]
    trail = len(text.rstrip())
    runs = [(0, lead)] if lead else []
    position = lead
    while (match := _ODD_BREAK.search(text, position, trail)) is not None:
        start = match.start()
        while text[start - 1].isspace():  # stops at text[lead] at the latest
            start -= 1
        position = _SPACE_RUN.match(text, start).end()  # before text[trail - 1], not a space
        runs.append((start, position))
    if trail < length:
        runs.append((trail, length))
    spans: list[tuple[int, int]] = []
    for start, end in runs:
        if text.count("\n", start, end) == end - start:
            if start == 0 or end == length:
                spans.append((start, end))
            elif end - start > 2:
                spans.append((start + 2, end))
        else:
            spans.extend(match.span() for match in
                         _SQUEEZE.finditer(text, start, end + 1 if end < length else end))
    return spans


def _segment_tokens(text: str, start: int, end: int) -> list[tuple[str | None, int, int]]:
    """The text between two tags, text[start:end], as `html_to_text` reads it: entities and
    whitespace tokens (kind "entity" or "space") of `_HTML_TOKEN` and the text around them
    (kind None). No token `_HTML_SPLIT` finds starts in text[start:end] (only those start with
    "<"), and no other token crosses its ends: the whole text's tokens there are the segment's."""
    tokens: list[tuple[str | None, int, int]] = []
    for match in _HTML_TOKEN.finditer(text, start, end):
        if match.start() > start:
            tokens.append((None, start, match.start()))
        tokens.append((match.lastgroup, match.start(), match.end()))
        start = match.end()
    if start < end:
        tokens.append((None, start, end))
    return tokens


def _decode_entities(text: str) -> CleanText:
    builder = _Builder()
    position = 0
    for match in _ENTITY_ONLY.finditer(text):
        builder.copy(text[position:match.start()], position, match.start())
        builder.replace(_unescape(match.group()), match.start(), match.end())
        position = match.end()
    builder.copy(text[position:], position, len(text))
    return builder.build(len(text))


def _giant_runs(text: str) -> list[tuple[int, int]]:
    """Ranges of `text` that are runs of more than MAX_TOKEN_CHARS non-space characters."""
    return [m.span() for m in _GIANT_RUN.finditer(text)]


def clean_text(text: str, *, email: bool = True) -> CleanText:
    """Clean one stored text: HTML to text, subject tags ("[Ticket #12345]") cut, then (when
    `email`) quoted replies, signatures, disclaimers, banners and ticket-system notices removed,
    and runs of more than MAX_TOKEN_CHARS characters without a space dropped.
    Plain text without any of those comes back unchanged.

    Each step finds what to cut in the text the steps before left, but the cuts are only
    collected (`kept`: what is left, as ranges of `source`'s text, see `_cut`) and the offset
    map is rebuilt once, at the end: rebuilding it after every step, as `CleanText.without`
    does, was a third of the time of an HTML note. The result is the same map: a run of it
    only depends on which characters are left."""
    kept: list[tuple[int, int]] | None = None  # None: all of `source`
    if "<" in text and looks_like_html(text):
        source = _html_pieces(text)
        kept = _outside(_squeeze_spans(source.text), len(source.text))
        text = _joined(source.text, kept)
    elif "&" in text and _ENTITY_HINT.search(text):
        source = _decode_entities(text)
        text = source.text
    else:
        source = CleanText.identity(text)
    ranges = tag_ranges(text) if "[" in text else []
    if email:
        ranges += noise_ranges(text)
    if len(text) > MAX_TOKEN_CHARS:
        giant = _giant_runs(text)
        if giant:
            log.info("dropped %d runs of over %d characters without a space", len(giant),
                     MAX_TOKEN_CHARS)
            ranges += giant
    if ranges:
        kept = _cut([(0, len(text))] if kept is None else kept, ranges)
        text = _joined(source.text, kept)
    if len(text) > MAX_CLEAN_CHARS:
        log.info("cleaned text cut from %d to %d characters", len(text), MAX_CLEAN_CHARS)
        kept = _cut([(0, len(text))] if kept is None else kept, [(MAX_CLEAN_CHARS, len(text))])
        text = _joined(source.text, kept)
    if text and (text[0].isspace() or text[-1].isspace()):
        kept = _stripped([(0, len(text))] if kept is None else kept, text)
        text = text.strip()
    return source if kept is None else source._keeping(kept, text)


def _outside(spans: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The ranges of [0, length) outside the sorted, apart, non-empty `spans`: what `_cut`
    leaves of [(0, length)], without its walk for cuts that overlap or cross pieces."""
    kept: list[tuple[int, int]] = []
    cursor = 0
    for start, end in spans:
        if start > cursor:
            kept.append((cursor, start))
        cursor = end
    if cursor < length:
        kept.append((cursor, length))
    return kept


def _stripped(kept: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    """`kept` (non-empty ranges whose pieces, joined, are `text`) less the whitespace that
    opens and closes `text`: what `_cut` leaves of it less `_edges(text)`, taken off the first
    and the last pieces."""
    length = len(text)
    lead = length - len(text.lstrip())
    if lead == length:
        return []
    tail = length - len(text.rstrip())
    kept = kept.copy()
    while lead:
        start, end = kept[0]
        if end - start > lead:
            kept[0] = (start + lead, end)
            break
        lead -= end - start
        del kept[0]
    while tail:
        start, end = kept[-1]
        if end - start > tail:
            kept[-1] = (start, end - tail)
            break
        tail -= end - start
        del kept[-1]
    return kept


def _cut(kept: list[tuple[int, int]],
         ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """`kept` less `ranges`. `kept` holds the sorted, apart ranges of a text whose pieces,
    joined, make a second text (`_joined`); `ranges` are offsets into that second text, and
    are cut out of `kept` (as `CleanText.without` would cut them out of the second text)."""
    result: list[tuple[int, int]] = []
    cuts = sorted(ranges)
    index, count = 0, len(cuts)
    offset = 0  # where the piece of `kept` at hand starts in the joined text
    for start, end in kept:
        cursor = start
        stop = offset + end - start
        while index < count and cuts[index][0] < stop:
            cut_start, cut_end = cuts[index]
            if cut_end > cut_start:
                first = start + max(cut_start - offset, 0)
                if first > cursor:
                    result.append((cursor, first))
                cursor = max(cursor, start + min(cut_end - offset, end - start))
            if cut_end > stop:
                break  # goes on into the next piece
            index += 1
        if cursor < end:
            result.append((cursor, end))
        offset = stop
    return result


def _joined(text: str, kept: list[tuple[int, int]]) -> str:
    """The pieces `kept` of `text`, joined."""
    if len(kept) == 1:
        start, end = kept[0]
        return text[start:end]
    return "".join([text[start:end] for start, end in kept])


def _edges(text: str) -> list[tuple[int, int]]:
    """The ranges of whitespace that open and close `text`. str.strip's whitespace is the
    regex's \\s, character for character, and it finds them without a regex's scan of
    every position for a run that reaches the end."""
    lead = len(text) - len(text.lstrip())
    if lead == len(text):
        return [(0, lead)] if lead else []
    trail = len(text.rstrip())
    return [span for span in ((0, lead), (trail, len(text))) if span[0] < span[1]]
