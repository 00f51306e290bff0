"""Sixth speed round on cleaning: each rewritten step against the form it replaced.

`_html_pieces` reads the split in steps of three and copies a segment of plain words without
making it a token; `clean_text` finds what squeezing keeps (`_outside`) and strips the edges
(`_stripped`) without the general `_cut`; `CleanText._keeping` moves the runs inside a range in
one comprehension (`_kept_runs`); `noise_ranges` no longer looks for a line pattern's words
before running it; `ticket_sources` builds its tuples directly. Each is compared with the old
form, kept here, on the real texts and on generated ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from operator import attrgetter

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import clean, email_noise
from extract.clean import (
    _HTML_SPLIT,
    _KIND_BY_NAME,
    _LONE_ENTITY,
    CleanText,
    _drop_until_close,
    _Run,
    _segment_tokens,
    _tag_kind,
    _unescape,
    clean_text,
    looks_like_html,
)
from extract.email_noise import (
    _DASH_BIT,
    _DASH_DASH,
    _FORWARD_BIT,
    _FORWARD_HEADER,
    _HEADER_BITS,
    _LINE_RULES,
    _SIGN_OFF_BIT,
    _blank_between,
    _fold,
    _HeaderFinder,
    _line_spans,
    _name_block_start,
    _openers,
    _opening_lines,
    _quick_ascii,
    _signature_start,
)
from extract.labelled import load_labelled
from extract.roles import Context, normalise
from extract.sources import SUGGESTION_HEADER, Source, _context, is_suggestion, ticket_sources
from records import NoteKind, Ticket
from tests.extract.test_clean_speed2_map import _keeping_before
from tests.extract.test_cleaning_speed_html import _HTML_TEXTS, _real_texts, _state
from tests.extract.test_email_noise_gates import _TEXTS as _NOISE_TEXTS

_SETTINGS = settings(max_examples=1000, deadline=None, derandomize=True)


def _html_pieces_before(text: str) -> CleanText:
    """`_html_pieces` as it was: the split read by index, every text as tokens."""
    parts: list[str] = []
    runs: list[_Run] = []
    size = 0
    open_clean, open_start, open_end = -1, 0, 0
    last = "\n"
    # `pieces` alternates the text between tokens with a token and its tag name (None for a
    # comment or a declaration); `index` is at a text between tokens, which starts at `start`.
    pieces = _HTML_SPLIT.split(text)
    count = len(pieces)
    index = start = 0
    while True:
        segment = pieces[index]
        if segment:
            position = start
            start += len(segment)
            tokens: Iterable[tuple[str | None, int, int]]
            if "&" not in segment:
                tokens = (((None, position, start),)
                          if "  " not in segment and segment.isprintable()
                          else _segment_tokens(text, position, start))
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
        if index + 1 == count:
            break
        name = pieces[index + 2]
        position = start
        start += len(pieces[index + 1])
        index += 3
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
            # Past the skipped content. Where a token ends right at its end (its closing tag,
            # mostly) the split goes on from there; else the text after it is split anew, as
            # the tokens there may differ from those of the whole text.
            while start < end and index + 1 < count:
                start += len(pieces[index]) + len(pieces[index + 1])
                index += 3
            if start != end:
                pieces = _HTML_SPLIT.split(text[end:])
                count = len(pieces)
                index, start = 0, end
    if open_clean >= 0:
        runs.append((open_clean, open_start, open_end, True))
    return CleanText("".join(parts), runs, len(text))


def _noise_ranges_before(text: str) -> list[tuple[int, int]]:
    """`noise_ranges` as it was: a line pattern ran only on a text holding one of its words."""
    folded = text.lower() if text.isascii() else _fold(text)
    openers = _openers(folded)
    if not openers and "\n\n" not in folded:
        return []
    if not _quick_ascii(folded):
        return []
    forwards = ([m.span() for m in _FORWARD_HEADER.finditer(text) if m.end() > m.start()]
                if openers & _FORWARD_BIT and "forwarded" in folded else [])
    ranges = list(forwards)
    stop = len(text)
    consumed = 0
    if openers & _HEADER_BITS:
        finder = _HeaderFinder(text, folded, openers)
        # A From:/Sent: block inside a forward marker introduces what was forwarded: not a cut.
        header = finder.first(0, forwards)
        while header is not None:
            if _blank_between(text, consumed, header[0], forwards):
                # A header at the very top (a mail pasted into the ticket): drop the header lines
                # only, the message below it is the content.
                ranges.append(header)
                consumed = max(header[1], header[0] + 1)
                header = finder.first(consumed, forwards)
            else:
                stop = header[0]
                ranges.append((stop, len(text)))
                break
    dash = _DASH_DASH.search(text, 0, stop) if openers & _DASH_BIT else None
    if dash is not None:
        ranges.append((dash.start(), stop))
        stop = dash.start()
    lines: list[tuple[int, int]] | None = None  # `_opening_lines`, when a pattern runs
    for pattern, words, ignore_case, bit in _LINE_RULES:
        if openers & bit:
            haystack = folded if ignore_case else text
            for word in words:
                if word in haystack:
                    if lines is None:
                        # One line (most notes that get here): its start, for every pattern.
                        lines = _opening_lines(folded) if "\n" in folded else [(0, -1)]
                    starts = [start for start, bits in lines if bits & bit]
                    ranges.extend(_line_spans(pattern, text, stop, starts))
                    break
    signature = _signature_start(text, stop, ranges) if openers & _SIGN_OFF_BIT else None
    if signature is None and "\n\n" in folded:
        signature = _name_block_start(text, len(text[:stop].rstrip()), ranges)
    if signature is not None:
        ranges.append((signature, stop))
    return ranges


def _clean_text_before(text: str, *, email: bool = True) -> CleanText:
    """`clean_text` as it was: squeezing and the edges cut with `_cut`, and `_keeping` joining
    the kept text again."""
    kept: list[tuple[int, int]] | None = None
    if "<" in text and looks_like_html(text):
        source = _html_pieces_before(text)
        kept = clean._cut([(0, len(source.text))], clean._squeeze_spans(source.text))
        text = clean._joined(source.text, kept)
    elif "&" in text and clean._ENTITY_HINT.search(text):
        source = clean._decode_entities(text)
        text = source.text
    else:
        source = CleanText.identity(text)
    ranges = email_noise.tag_ranges(text) if "[" in text else []
    if email:
        ranges += _noise_ranges_before(text)
    if len(text) > clean.MAX_TOKEN_CHARS:
        ranges += clean._giant_runs(text)
    if ranges:
        kept = clean._cut([(0, len(text))] if kept is None else kept, ranges)
        text = clean._joined(source.text, kept)
    if len(text) > clean.MAX_CLEAN_CHARS:
        kept = clean._cut([(0, len(text))] if kept is None else kept,
                          [(clean.MAX_CLEAN_CHARS, len(text))])
        text = clean._joined(source.text, kept)
    if text and (text[0].isspace() or text[-1].isspace()):
        kept = clean._cut([(0, len(text))] if kept is None else kept, clean._edges(text))
    return source if kept is None else _keeping_before(source, kept)


def _ticket_sources_before(ticket: Ticket) -> list[Source]:
    """`ticket_sources` as it was: the named tuple's constructor, `is_suggestion`."""
    sources = [Source("title", None, Context.TITLE, ticket.title,
                      clean_text(ticket.title, email=False), ticket.created_at)]
    if ticket.description and not ticket.description.isspace():
        sources.append(Source("description", None, Context.DESCRIPTION, ticket.description,
                              clean_text(ticket.description), ticket.created_at))
    seen: set[str] = set()
    counted = 1
    for note in sorted(ticket.notes, key=attrgetter("created_at")):
        if not note.text or note.text.isspace():
            continue
        cleaned = clean_text(note.text)
        if is_suggestion(cleaned.text):
            continue
        if note.kind is NoteKind.DESCRIPTION:
            seen.update(normalise(source.clean.text) for source in sources[counted:])
            counted = len(sources)
            if normalise(cleaned.text) in seen:
                continue
        sources.append(Source("note", note.external_id, _context(note.kind, note.author_role),
                              note.text, cleaned, note.created_at, note.author, note.kind))
    return sources


def _comparable(sources: list[Source]) -> list[tuple[object, ...]]:
    return [(*source[:4], _state(source.clean), *source[5:]) for source in sources]


@cache
def _real_html() -> list[str]:
    return [text for text in _real_texts() if looks_like_html(text)]


@cache
def _noise_texts() -> list[str]:
    """The real texts, and each HTML one as `clean_text` hands it to `noise_ranges`."""
    texts = list(_real_texts())
    for text in _real_html():
        source = clean._html_pieces(text)
        texts.append(clean._joined(source.text, clean._outside(
            clean._squeeze_spans(source.text), len(source.text))))
    return texts


@_SETTINGS
@given(_HTML_TEXTS)
def test_html_pieces_are_those_of_the_indexed_walk(text: str) -> None:
    assert _state(clean._html_pieces(text)) == _state(_html_pieces_before(text))


def test_html_pieces_of_the_real_html_are_those_of_the_indexed_walk() -> None:
    assert len(_real_html()) > 50
    for text in _real_html():
        assert _state(clean._html_pieces(text)) == _state(_html_pieces_before(text)), text


@_SETTINGS
@given(_HTML_TEXTS, st.booleans())
def test_clean_text_is_the_form_it_replaced(text: str, email: bool) -> None:
    assert _state(clean_text(text, email=email)) == _state(_clean_text_before(text, email=email))


def test_clean_text_of_the_real_texts_is_the_form_it_replaced() -> None:
    for text in _real_texts():
        assert _state(clean_text(text)) == _state(_clean_text_before(text)), text
        assert _state(clean_text(text, email=False)) == _state(
            _clean_text_before(text, email=False)), text


_SPACED = st.lists(st.sampled_from([" ", "\n", "\t", "\xa0", "a", "b c", "\n\n\n"]),
                   max_size=30).map("".join)


@_SETTINGS
@given(_SPACED, st.lists(st.integers(min_value=0, max_value=200), max_size=10))
def test_outside_and_stripped_are_what_cut_leaves(text: str, cuts: list[int]) -> None:
    length = len(text)
    spans = clean._squeeze_spans(text)
    assert clean._outside(spans, length) == clean._cut([(0, length)], spans)
    # Sorted, non-empty, apart ranges of `text` (every other gap between the cut points).
    points = sorted({0, length, *(cut % (length + 1) for cut in cuts)})
    kept = [(a, b) for a, b in zip(points[::2], points[1::2], strict=False) if a < b]
    joined = "".join(text[a:b] for a, b in kept)
    if joined:
        assert clean._stripped(kept, joined) == clean._cut(kept, clean._edges(joined))


@_SETTINGS
@given(_HTML_TEXTS, st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_keeping_moves_the_runs_as_the_builder_did(text: str, cuts: list[int]) -> None:
    # Maps made by each builder: `_html_pieces`, `_decode_entities`, `_keeping` itself.
    for source in (clean._html_pieces(text), clean._decode_entities(text), clean_text(text)):
        length = len(source.text)
        points = sorted({0, length, *(cut % (length + 1) for cut in cuts)})
        keep = [(a, b) for a, b in zip(points[::2], points[1::2], strict=False) if a < b]
        if keep:
            assert _state(source._keeping(keep)) == _state(_keeping_before(source, keep))


@_SETTINGS
@given(_NOISE_TEXTS)
def test_noise_ranges_are_those_of_the_word_gated_form(text: str) -> None:
    assert email_noise.noise_ranges(text) == _noise_ranges_before(text)


def test_noise_ranges_of_the_real_texts_are_those_of_the_word_gated_form() -> None:
    texts = _noise_texts()
    found = [email_noise.noise_ranges(text) for text in texts]
    assert sum(map(bool, found)) > 100  # the texts do hold noise
    assert found == [_noise_ranges_before(text) for text in texts]


def test_ticket_sources_are_those_of_the_named_tuple_form() -> None:
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    for ticket in tickets:
        assert _comparable(ticket_sources(ticket)) == _comparable(_ticket_sources_before(ticket))


def test_a_cleaned_text_never_opens_with_whitespace_so_suggestions_need_no_strip() -> None:
    header = f"  <p>{SUGGESTION_HEADER} (steps)</p>\n\nTry this."
    assert clean_text(header).text.startswith(SUGGESTION_HEADER)
    for text in _real_texts():
        cleaned = clean_text(text).text
        assert cleaned == cleaned.lstrip()
