"""The speed work on `html_to_text` and `clean_text` changes neither text nor offset map.

`html_to_text` now splits the text at its "<" tokens, reads entities and whitespace only in
the text between them that holds any and squeezes whitespace only around line breaks and at
the ends (`_squeeze_spans`); `clean_text` collects the cuts of its steps and rebuilds
the map once. Here both are compared, text and runs, with the forms they replaced: a token walk
over `_HTML_TOKEN` written with `_Builder`, and a `CleanText.without` after every step.
"""

from __future__ import annotations

import html
import re
import sys
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import clean
from extract.clean import CleanText, clean_text, html_to_text, looks_like_html
from extract.email_noise import noise_ranges, tag_ranges
from extract.labelled import load_labelled


def _html_to_text_before(text: str) -> CleanText:
    """`html_to_text` as a walk over every token of `_HTML_TOKEN`."""
    builder = clean._Builder()
    position = 0
    tokens = clean._HTML_TOKEN.finditer(text)
    while True:
        for match in tokens:
            start, end = match.span()
            if start > position:
                first = (position + 1 if text[position] == " " and builder.last_char() in " \n"
                         else position)
                builder.copy(text[first:start], first, start)
            kind, piece, verbatim, dropped = match.lastgroup, "", False, False
            if kind == "tag":
                name = match.group("name").lower()
                closing = text.startswith("</", start)
                if name in clean._DROP_CONTENT:
                    if not closing and text[end - 2:end] != "/>":
                        end = clean._drop_until_close(text, name, end)
                        piece, dropped = "\n", True
                elif name == "li":
                    piece = "" if closing else "\n- "
                elif name in clean._BLOCK:
                    piece = "" if builder.ends_with("\n- ") else "\n"
                elif name in clean._CELL and builder.last_char() not in " \n":
                    piece = " "
            elif kind == "entity":
                decoded = html.unescape(match.group())
                verbatim = decoded == match.group()
                piece = "" if verbatim else decoded.replace("\xa0", " ")
            elif kind == "space" and builder.last_char() not in " \n":
                verbatim = end - start == 1 and text[start] == " "
                piece = "" if verbatim else " "
            if verbatim:
                builder.copy(text[start:end], start, end)
            else:
                builder.replace(piece, start, end)
            position = end
            if dropped:
                tokens = clean._HTML_TOKEN.finditer(text, end)
                break
        else:
            break
    if position < len(text):
        first = (position + 1 if text[position] == " " and builder.last_char() in " \n"
                 else position)
        builder.copy(text[first:], first, len(text))
    unsqueezed = builder.build(len(text))
    return unsqueezed.without(m.span() for m in clean._SQUEEZE.finditer(unsqueezed.text))


def _clean_text_before(text: str, *, email: bool = True) -> CleanText:
    """`clean_text` with the map rebuilt after every step (`CleanText.without`)."""
    if looks_like_html(text):
        cleaned = _html_to_text_before(text)
    elif clean._ENTITY_HINT.search(text):
        cleaned = clean._decode_entities(text)
    else:
        cleaned = CleanText.identity(text)
    ranges = tag_ranges(cleaned.text) + (noise_ranges(cleaned.text) if email else [])
    ranges += clean._giant_runs(cleaned.text)
    if ranges:
        cleaned = cleaned.without(ranges)
    if len(cleaned.text) > clean.MAX_CLEAN_CHARS:
        cleaned = cleaned.without([(clean.MAX_CLEAN_CHARS, len(cleaned.text))])
    return cleaned.without(clean._edges(cleaned.text))


def _state(cleaned: CleanText) -> tuple[str, list[tuple[int, int, int, bool]], int]:
    return cleaned.text, cleaned._runs, cleaned.original_length


_HTML_FRAGMENTS = [
    "<p>", "</p>", "<div>", "</div>", "<br>", "<br/>", "<li>", "</li>", "<ul>", "<td>", "<th>",
    "<tr>", "<style>", "</style>", "<head>", "</head>", "<blockquote>", "</blockquote>",
    "<style/>", "<span class=x>", "</span>", "<o:p>", "</o:p>", "<!-- c -->", "<!--", "-->",
    "<!DOCTYPE html>", "<?xml x?>", "<", ">", "<b<b", "&", "&amp;", "&nbsp;", "&#10;", "&#9;",
    "&#x41;", "&bogus;", "&lt;p&gt;", "&", " ", "  ", "\n", "\t", "\r\n", "\xa0", "\u2003",
    "Hi", "Thanks,", "Jane Doe", "wrote:", "[EXTERNAL]", "x" * 5, "é",
]
_HTML_TEXTS = st.lists(st.sampled_from(_HTML_FRAGMENTS), max_size=40).map("".join)
_SETTINGS = settings(max_examples=800, deadline=None, derandomize=True)


@_SETTINGS
@given(_HTML_TEXTS)
def test_html_to_text_is_the_token_walk_it_replaced(text: str) -> None:
    assert _state(html_to_text(text)) == _state(_html_to_text_before(text))


@_SETTINGS
@given(_HTML_TEXTS, st.booleans())
def test_clean_text_is_the_step_by_step_form_it_replaced(text: str, email: bool) -> None:
    assert _state(clean_text(text, email=email)) == _state(_clean_text_before(text, email=email))


@pytest.mark.parametrize("text", [
    "<head><style>p {}</style></head><p>kept</p>",
    "<style><!-- </style> --> after <p>x</p>",  # a comment runs over the closing tag
    "<style>a</style ><b>b</b>  c",
    "<script>never closed <p>x",
    "<blockquote>quoted <blockquote>nested</blockquote> still</blockquote>reply",
])
def test_skipped_elements_clean_as_in_the_token_walk(text: str) -> None:
    assert _state(html_to_text(text)) == _state(_html_to_text_before(text))


@cache
def _real_texts() -> list[str]:
    """The titles, descriptions and notes of the sandbox corpus and the labelled tickets."""
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    return sorted({text for ticket in tickets for text in
                   (ticket.title, ticket.description or "", *(n.text for n in ticket.notes))})


def test_real_texts_clean_as_in_the_forms_replaced() -> None:
    texts = _real_texts()
    assert sum(map(looks_like_html, texts)) > 20  # the corpus does hold HTML notes
    for text in texts:
        if looks_like_html(text):
            assert _state(html_to_text(text)) == _state(_html_to_text_before(text)), text
        for email in (True, False):
            assert (_state(clean_text(text, email=email))
                    == _state(_clean_text_before(text, email=email))), text


def test_printable_text_holds_no_whitespace_but_the_space() -> None:
    # What lets `html_to_text` take a printable text between tags without "  " as one piece.
    space = re.compile(r"\s")
    assert [code for code in range(sys.maxunicode + 1)
            if space.match(chr(code)) and chr(code).isprintable()] == [ord(" ")]


_SPACE_FRAGMENTS = [" ", "  ", "\t", "\n", "\n\n", "\n\n\n", "\r", "\x0b", "\xa0", "a", "b", "é"]


@_SETTINGS
@given(st.lists(st.sampled_from(_SPACE_FRAGMENTS), max_size=30).map("".join))
def test_squeezed_spans_are_those_of_the_whole_text_scan(text: str) -> None:
    assert clean._squeeze_spans(text) == [m.span() for m in clean._SQUEEZE.finditer(text)]


def test_squeezed_spans_of_the_real_html_texts_are_those_of_the_whole_text_scan() -> None:
    for text in filter(looks_like_html, _real_texts()):
        unsqueezed = clean._html_pieces(text).text
        assert (clean._squeeze_spans(unsqueezed)
                == [m.span() for m in clean._SQUEEZE.finditer(unsqueezed)]), text
