"""Speed round 5 of the role rules, checked against the forms they replaced.

- `classify` returns early on a segment whose gates leave only the action start to read
  (`_RULED`): it agrees with the whole rules, kept here as they were (`_old_classify`).
- `_passive` reads its subject token by token (`_subject_tokens`, `_Kinds`), not with
  `cues.PASSIVE_SUBJECT`.
- `_action_start` hands back one shared `_Start` per phrase (`_Started`).
- `_Split.found` searches the open branches itself, not through `Alternation.any`.
"""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.sandbox.corpus import load_corpus
from extract import cues, roles
from extract.labelled import load_labelled
from extract.roles import Classification, Context, classify, normalise
from extract.sources import ticket_sources

_R = roles


def _old_classify(text: str, *, context: Context = Context.TECHNICIAN) -> Classification:
    """`classify` as it was before round 5 (every rule read on every segment)."""
    lowered = text.lower()
    if lowered.isascii():
        words = lowered.replace("`", "'").split()
        norm = " ".join(words)
        fast = True
    else:
        words = _R._normalised_words(text)
        norm = " ".join(words)
        fast = norm.isascii()
    rx = _R._EXACT if fast else _R._FOLDED
    gates = text_gates = _R._GATES.mask_words(words) if fast else _R._ALL_OPEN
    bit = _R._BIT
    hint = 0
    label = rx.label.match(norm) if gates & bit.label else None
    if label:
        hint = _R._LABEL_HINTS.get(label.group("label"), 0)
        norm = norm[label.end():]
    if not norm:
        return _R._OTHER
    if gates & bit.closing and context is not Context.TITLE \
            and _R._CLOSURE_SHAPE.fullmatch(norm) and _R._is_closure_words(_R._WORD.findall(norm)):
        return _R._closure(norm)
    lead = rx.lead.match(norm) if gates & bit.lead else None
    body = norm[lead.end():] if lead else norm
    tokens = body.split(" ") if label or lead else words
    if fast and (label or lead):
        gates = _R._GATES.mask_words(tokens)
    customer_side = context in _R._CUSTOMER_SIDE
    symptom = gates & _R._SYMPTOM_STRONG.bits != 0 and _R._SYMPTOM_STRONG.found(body, gates)
    planned = gates & _R._NOT_DONE.bits != 0 and _R._NOT_DONE.found(body, gates)
    if (planned or body.endswith("?")) and (
            not planned or not (gates & bit.confirmed and (fast or rx.confirmed.search(body)))):
        if customer_side and (symptom or (gates & _R._SYMPTOM_WEAK.bits
                                          and _R._SYMPTOM_WEAK.found(body, gates))):
            return _R._OUTCOMES[hint | _R._SYMPTOM]
        return _R._OUTCOMES[hint or _R._OTHER_ROLE]
    start = _R._NO_ACTION if gates & bit.negated_start and rx.negated_start.match(body) \
        else _R._action_start(body, rx, gates, tokens)
    tried = failure = success = verified = strong_cause = cause = False
    if gates & _R._LATE_CUES:
        tried = gates & bit.tried != 0 and rx.tried.search(body) is not None
        failure = gates & _R._FAILURE.bits != 0 and _R._FAILURE.found(body, gates)
        success = not failure and gates & bit.success != 0 \
            and rx.success.search(body, len(start.verb)) is not None
        if not failure:
            if gates & _R._VERIFY.bits:
                if symptom:
                    check = _R._VERIFY.search(body, gates)
                    verified = check is not None and not check.group().startswith("success")
                else:
                    verified = _R._VERIFY.found(body, gates)
            if not verified:
                verified = gates & bit.short_ok != 0 and len(tokens) <= _R._SHORT_OK_TOKENS \
                    and rx.short_ok.match(body) is not None
        strong_cause = (gates & bit.cause_strong != 0 and _R._CAUSE_STRONG.found(body, gates)
                        ) or (not customer_side and gates & bit.cause_because != 0
                              and rx.cause_because.search(body) is not None)
        cause = strong_cause or (not customer_side and (
            (gates & bit.cause_found != 0 and rx.cause_found.search(body) is not None)
            or (not symptom and gates & bit.cause_state != 0
                and rx.cause_state.search(body) is not None)))
    acted = start.acted and not (start.base and (symptom or strong_cause
                                                 or _R._title_case(text)))
    if acted and (verified or success) and cues.CHECK_VERB.match(start.verb):
        acted = False
    if (tried and not success) or (failure and (acted or tried)):
        return _R._OUTCOMES[hint | _R._FAILED]
    if failure:
        return _R._FOLLOWUPS[hint | _R._FAILED]
    if acted and customer_side and not verified and text_gates & bit.first_person \
            and ((fast and not label) or rx.first_person.search(norm)):
        if gates & _R._CUSTOMER_ATTEMPT.bits and _R._CUSTOMER_ATTEMPT.found(body, gates):
            return _R._OUTCOMES[hint | _R._FAILED]
        return _R._OUTCOMES[hint | (_R._SYMPTOM if symptom else _R._OTHER_ROLE)]
    roles_ = hint
    if acted:
        roles_ |= _R._ACTION
        if verified or (success and not start.base):
            roles_ |= _R._VERIFICATION
        if cause:
            roles_ |= _R._CAUSE
        return _R._OUTCOMES[roles_]
    if cause and not (customer_side and symptom and not strong_cause):
        roles_ |= _R._CAUSE
    if verified:
        roles_ |= _R._VERIFICATION
    elif symptom or (customer_side and gates & _R._SYMPTOM_WEAK.bits
                     and _R._SYMPTOM_WEAK.found(body, gates)):
        roles_ |= _R._SYMPTOM
    return _R._OUTCOMES[roles_ or _R._OTHER_ROLE]


@cache
def _texts() -> list[str]:
    """Texts of the sandbox corpus and the labelled tickets, whole and line by line (as they
    were written, not normalised: `classify` normalises them)."""
    tickets = [*load_corpus(), *(item.ticket for item in load_labelled().tickets)]
    texts: set[str] = set()
    for ticket in tickets:
        for source in ticket_sources(ticket):
            text = source.clean.text
            texts.add(text)
            texts.update(line for line in text.splitlines() if line.strip())
            texts.update(part for line in text.splitlines() for part in line.split(". ")
                         if part.strip())
    return sorted(texts)


def test_classify_reads_real_text_as_the_whole_rules_did() -> None:
    texts = _texts()
    assert len(texts) > 1000
    for text in texts:
        for context in Context:
            assert classify(text, context=context) == _old_classify(text, context=context), (
                text, context)


_WORDS = ["pw", "the", "printer", "user's", "ost", "reset", "rebuilt", "restarted", "it", "was",
          "remote", "in", "fixed", "now", "working", "not", "i", "we", "customer", "still",
          "error", "then", "resolution:", "cause", "-", "tried", "confirmed", "?", "will",
          "Reset", "Printer", "thanks", "done", "since", "yesterday", "because", "café", "no",
          "luck", "had", "user", "reboot", "and", "checked", "ok", "her", "drive", "mapped"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=9),
       st.sampled_from(list(Context)))
def test_classify_reads_generated_text_as_the_whole_rules_did(words: list[str],
                                                              context: Context) -> None:
    text = " ".join(words)
    assert classify(text, context=context) == _old_classify(text, context=context)


def _old_subject_end(body: str) -> int:
    match = roles._EXACT.passive_subject.match(body)
    return 0 if match is None else match.end()


def _subject_end(body: str) -> int:
    tokens = body.split(" ")
    count = roles._subject_tokens(tokens, roles._lexicon().kinds)
    return len(" ".join(tokens[:count])) + 1 if count else 0


def test_the_subject_is_read_token_by_token_as_the_pattern_reads_it_in_real_text() -> None:
    seen = 0
    for text in _texts():
        tokens = normalise(text).split(" ")
        if not "".join(tokens).isascii():
            continue
        for start in range(min(len(tokens), 4)):
            body = " ".join(tokens[start:])
            expected = _old_subject_end(body)
            assert _subject_end(body) == expected, body
            seen += expected > 0
    assert seen > 1000


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["the", "their", "her", "users", "user's", "usrs", "usr'", "he",
                                 "it's", "its", "itself", "user/pc", "printer", "pw", "ost",
                                 "x-1", "9am", "_x", "-x", "a.b", "reset", "the.", "that's",
                                 "users'", "nowhere", "now", "able", "ok,", "tech's", "a+b"]),
                min_size=1, max_size=6))
def test_the_subject_is_read_token_by_token_as_the_pattern_reads_it(words: list[str]) -> None:
    body = " ".join(words)
    assert _subject_end(body) == _old_subject_end(body)


def test_a_started_phrase_is_the_start_it_was() -> None:
    known = roles._lexicon()
    for phrase in sorted(known.verbs.action_forms)[:3000]:
        assert known.started[phrase] == roles._Start(True, phrase,
                                                     known.verbs.is_base_form(phrase))


def _old_found(split: roles._Split, text: str, gates: int) -> bool:
    """`_Split.found` as it was: `Alternation.any` over the undecided branches."""
    if gates == roles._ALL_OPEN:
        return split.folded.search(text) is not None
    return gates & split.decided != 0 or split.exact.any(
        text, (gates & split.undecided) >> split.shift)


def test_a_split_cue_is_found_as_it_was_in_real_text() -> None:
    found = 0
    for text in _texts():
        body = normalise(text)
        gates = roles._GATES.mask(body) if body.isascii() else roles._ALL_OPEN
        for split in roles._SPLITS:
            expected = _old_found(split, body, gates)
            assert split.found(body, gates) == expected, (body, split.shift)
            found += expected
    assert found > 1000
