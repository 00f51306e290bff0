"""`_html_pieces` reads tag kinds from a cache by the name as written, takes a text between
tags that is one entity without `_segment_tokens`, and tests a bullet by `last` first: the
cleaned text and map are still those of the token walk it replaced (`_html_to_text_before`).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from extract import clean
from extract.clean import html_to_text
from tests.extract.test_cleaning_speed_html import _html_to_text_before, _real_texts, _state

_ENTITY_FRAGMENTS = ["&", "#", "x", "X", ";", "1", "0", "a", "F", "g", "nbsp", "amp", "9" * 6,
                     "z" * 30, " ", "\n", "é"]
_PARTS = st.lists(st.sampled_from(_ENTITY_FRAGMENTS), max_size=4).map("".join)
# Mostly "&", a body, maybe ";" and maybe more: near the lone entities and their edges.
_SEGMENTS = st.tuples(st.sampled_from(["&", "&#", "&#x", ""]), _PARTS,
                      st.sampled_from([";", "", ";;"]), _PARTS).map("".join).filter(bool)
_SETTINGS = settings(max_examples=1500, deadline=None, derandomize=True)


@_SETTINGS
@given(_SEGMENTS)
def test_a_lone_entity_is_the_one_token_of_its_segment(segment: str) -> None:
    _assert_lone_entity_is_the_one_token(segment)


def test_the_real_texts_between_tags_have_their_lone_entities_as_one_token() -> None:
    segments = {piece for text in filter(clean.looks_like_html, _real_texts())
                for piece in clean._HTML_SPLIT.split(text)[::3] if piece}
    assert sum(clean._LONE_ENTITY.fullmatch(piece) is not None for piece in segments) >= 1
    for segment in segments:
        _assert_lone_entity_is_the_one_token(segment)


def _assert_lone_entity_is_the_one_token(segment: str) -> None:
    text = f"<p>{segment}</p>"
    tokens = clean._segment_tokens(text, 3, 3 + len(segment))
    alone = clean._LONE_ENTITY.fullmatch(segment) is not None
    assert alone is (tokens == [("entity", 3, 3 + len(segment))])


_HTML_FRAGMENTS = [
    "<p>", "</P>", "<Div>", "</div>", "<BR>", "<br/>", "<LI>", "</li>", "<Ul>", "<TD>", "<th>",
    "<tr>", "<STYLE>", "</Style>", "<head>", "</HEAD>", "<BlockQuote>", "</blockquote>",
    "<span class=x>", "</SPAN>", "<o:p>", "</O:P>", "<!-- c -->", "<font>", "&nbsp;", "&NBSP;",
    "&#160;", "&#xA0;", "&amp", "&bogus;", "&", " ", "  ", "\n", "\t", "Hi", "- ", "x",
]
_HTML_TEXTS = st.lists(st.sampled_from(_HTML_FRAGMENTS), max_size=40).map("".join)


@_SETTINGS
@given(_HTML_TEXTS)
def test_html_to_text_with_any_case_of_tag_is_the_token_walk(text: str) -> None:
    assert _state(html_to_text(text)) == _state(_html_to_text_before(text))


def test_real_html_texts_in_upper_case_tags_are_the_token_walk() -> None:
    for text in filter(clean.looks_like_html, _real_texts()):
        for variant in (text, text.replace("<p", "<P").replace("</p", "</P")
                        .replace("<br", "<BR").replace("<div", "<Div")):
            assert _state(html_to_text(variant)) == _state(_html_to_text_before(variant))


def test_the_tag_kind_cache_is_bounded() -> None:
    for number in range(clean._KIND_CACHE_SIZE + 10):
        assert clean._tag_kind(f"x{number}") == ""
        assert len(clean._KIND_BY_NAME) <= clean._KIND_CACHE_SIZE
    assert clean._tag_kind("Br") == "block"
    assert clean._KIND_BY_NAME["Br"] == "block"
