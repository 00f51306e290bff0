"""Speed changes of the role rules' gates, checked against the forms they replaced.

- `TokenGates` reads where a literal puts each of its parts: after a space at a token's start,
  before one at a token's end (it used to open on a part anywhere inside a token).
- `_passive` skips the verb lexicon when the token after the subject cannot start a phrase.
- `categories._words` looks for its marks by byte value.
"""

from __future__ import annotations

import re
from functools import cache, reduce
from operator import or_

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import roles
from extract.categories import _WORD, _words
from extract.labelled import load_labelled
from extract.patterns import TokenGates, _rank, _required
from extract.roles import normalise

# Every pattern the role rules gate, as `extract.roles` hands them to its `TokenGates`.
_PATTERNS = [*(cue.pattern for cue in roles._PATTERNS),
             *(branch for split in roles._SPLITS for branch in split.exact.patterns)]


@cache
def _gates() -> TokenGates:
    return TokenGates(_PATTERNS, exact=True)


@cache
def _compiled() -> list[re.Pattern[str]]:
    return [re.compile(pattern) for pattern in _PATTERNS]


@cache
def _texts() -> list[str]:
    """The corpus and labelled texts, whole and line by line, `normalise`d, ASCII only."""
    raw: list[str] = []
    for ticket in [*load_corpus(), *(t.ticket for t in load_labelled().tickets)]:
        raw += [ticket.title, ticket.description, *(note.text for note in ticket.notes)]
    texts = {normalise(piece) for text in raw for piece in [text, *text.splitlines()]}
    return sorted(text for text in texts if text and text.isascii())


def _old_pieces(clauses: tuple[frozenset[str], ...], slot: int) -> set[str] | None:
    """`TokenGates._pieces` as it was: the part's text alone, wherever it lies."""
    clause, rank = (clauses[slot], 0) if slot < len(clauses) \
        else (clauses[0] if clauses else frozenset(), slot - len(clauses) + 1)
    pieces = set()
    for literal in sorted(clause):
        parts = sorted(dict.fromkeys(p for p in literal.split(" ") if p), key=_rank,
                       reverse=True)
        if not parts:
            return None
        pieces.add(parts[rank] if rank < len(parts) else parts[0])
    return pieces or None


@cache
def _old_bits() -> tuple[dict[str, int], int]:
    """Each piece's gate bits as they were (slot *s* of pattern *i* at *s* * width + *i*), and
    the bits open whatever the text."""
    width = len(_PATTERNS)
    bits: dict[str, int] = {}
    always = 0
    for index, pattern in enumerate(_PATTERNS):
        clauses = _required(pattern, single_spaced=True)
        for slot in range(2):
            bit = 1 << (slot * width + index)
            pieces = _old_pieces(clauses, slot)
            if pieces is None:
                always |= bit
            for piece in pieces or ():
                bits[piece] = bits.get(piece, 0) | bit
    return bits, always


def _old_mask(words: list[str]) -> int:
    """The gates as they were (a piece anywhere in a token, two slots), before the exact
    patterns' own check: a gate closed here was closed before too."""
    bits, always = _old_bits()
    joined = "\0".join(words)  # a piece (no whitespace, no NUL) is in a token, or not here
    found = reduce(or_, (bit for piece, bit in bits.items() if piece in joined), always)
    width = len(_PATTERNS)
    return found & (found >> width) & ((1 << width) - 1)


def test_a_part_opens_a_gate_only_where_its_literal_puts_it() -> None:
    gates = TokenGates([r"\bis\s+(?:working|fine)\b", r"\bno luck\b"])
    assert gates.mask("it is fine") == 0b01
    assert gates.mask("this\tworking") == 0b01  # "is" ends "this": only a gate
    assert gates.mask("island fine") == 0  # "is" does not end "island"
    assert gates.mask("is refined") == 0  # "fine" does not start "refined"
    assert gates.mask("is fine.") == 0b01
    assert gates.mask("no\n luck!") == 0b10
    assert gates.mask("casino luck") == 0b10  # "no" ends "casino"
    assert gates.mask("nowhere luck") == 0  # "no" does not end "nowhere"
    assert gates.mask("no unluckily") == 0


def test_the_gates_never_close_on_a_match_in_real_text() -> None:
    gates = _gates()
    compiled = _compiled()
    for text in _texts():
        words = text.split()
        mask = gates.mask_words(words)
        for index, pattern in enumerate(compiled):
            if pattern.search(text) is not None:
                assert mask >> index & 1, (_PATTERNS[index], text)
        # Never wider than the gates were: each closed gate stays closed.
        assert mask & ~_old_mask(words) == 0, text


def test_the_gates_close_more_than_they_did_on_real_text() -> None:
    gates = _gates()
    closed = sum(bin(_old_mask(words) & ~gates.mask_words(words) & ~gates.exact).count("1")
                 for words in map(str.split, _texts()))
    assert closed > 1000


# A literal of some gated pattern, with any whitespace at its spaces and any characters at its
# ends: where a part can be found in a token, and where it cannot.
@cache
def _literals() -> list[str]:
    found = set()
    for pattern in _PATTERNS:
        for clause in _required(pattern, single_spaced=True):
            found.update(literal for literal in clause if literal.strip())
    return sorted(found)


_EDGES = st.sampled_from(["", "x", "is", "-", "(", "'", "no", "1", ".", " ", "re"])
_SPACES = st.sampled_from([" ", "  ", "\t", "\n", " \n "])


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=0), _EDGES, _EDGES, _SPACES, st.sampled_from(["", "the ", "it "]),
       st.integers(min_value=0, max_value=6))
def test_the_gates_never_close_on_a_match(index: int, before: str, after: str, space: str,
                                          lead: str, cut: int) -> None:
    """Nor on a match in a suffix of the text (`classify` reads a text's gates for the text
    after its label, which may start inside a token: "cause:x"), exact gates aside: those
    decide the whole text alone ("me" in "same")."""
    literals = _literals()
    text = lead + before + literals[index % len(literals)].replace(" ", space) + after
    gates = _gates()
    mask = gates.mask(text)
    for bit, pattern in enumerate(_compiled()):
        if pattern.search(text) is not None or (
                not gates.exact >> bit & 1 and pattern.search(text[cut:]) is not None):
            assert mask >> bit & 1, (_PATTERNS[bit], text, cut)


def _old_passive(body: str) -> roles._Start | None:
    """`roles._passive` as it was: the verb lexicon tried after any subject."""
    known = roles._lexicon()
    subject = roles._EXACT.passive_subject.match(body)
    if subject is None:
        return None
    lexicon = known.verbs
    done = lexicon.action_pattern.match(body, subject.end())
    if done is None:
        return None
    phrase = done.group()
    if lexicon.is_base_form(phrase) or phrase in lexicon.symptom_verbs \
            or phrase in roles._ONGOING:
        return None
    return roles._Start(True, phrase)


def test_a_passive_reads_as_it_did_on_real_text() -> None:
    known = roles._lexicon()
    seen = 0
    for text in _texts():
        tokens = text.split(" ")
        for start in range(min(len(tokens), 4)):  # the body after a lead-in of a few words
            body = " ".join(tokens[start:])
            expected = _old_passive(body)
            assert roles._passive(body, roles._EXACT, known, tokens[start:]) == expected, body
            seen += expected is not None
    assert seen > 50


@given(st.lists(st.sampled_from(["pw", "the", "printer", "user's", "ost", "reset", "rebuilt",
                                 "restarted", "spooler", "it", "was", "remote", "in", "set",
                                 "up", "fixed", "now", "cleared", "mapped", "drive"]),
                min_size=1, max_size=7))
def test_a_passive_reads_as_it_did(words: list[str]) -> None:
    body = " ".join(words)
    assert roles._passive(body, roles._EXACT, roles._lexicon(), words) == _old_passive(body)


def test_the_category_words_are_the_word_regex_matches_on_real_text() -> None:
    raw = [text for ticket in load_corpus()
           for text in (ticket.title, ticket.description, *(n.text for n in ticket.notes))]
    for text in raw:
        assert _words(text) == [w.encode() for w in _WORD.findall(text.lower())], text


def test_two_slots_need_no_mask_of_the_low_bits() -> None:
    """`mask_words` with two slots: the low half of `found & found >> width` is all there is."""
    gates = _gates()
    for words in map(str.split, _texts()[:2000]):
        found = reduce(or_, map(gates.masks.__getitem__, words), gates.always)
        assert gates.mask_words(words) == found & (found >> gates.width) & gates.low


@given(st.text(alphabet="ab1 '-/%.\n", max_size=16))
def test_the_category_words_are_the_word_regex_matches(text: str) -> None:
    assert _words(text) == [w.encode() for w in _WORD.findall(text.lower())]
