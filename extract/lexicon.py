"""Word lists the rules share, loaded once from ``extract/data/*.json``.

The verb lexicon lists base forms; regular -s/-ed/-ing forms are generated here so the data file
stays short and easy to grow. Multi-word entries ("remote in", "power cycle") are matched as
phrases on lowercased text.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from extract.patterns import CasePattern

__all__ = ["PhrasePattern", "VerbLexicon", "load_json", "verbs"]

_VOWELS = frozenset("aeiou")
# Verbs whose past form is their base form: "set" in a note is read as done.
_SAME_IN_PAST = frozenset({"set", "reset", "put", "re-set", "shut down", "shutdown", "shut off",
                           "rdp", "ssh"})


def load_json(name: str) -> Any:
    """Parse one shipped data file from ``extract/data``."""
    return json.loads(resources.files("extract").joinpath("data", name).read_text("utf-8"))


def _inflect(base: str) -> set[str]:
    """The -s, -ed and -ing forms of a regular verb (phrasal verbs inflect their first word)."""
    head, _, rest = base.partition(" ")
    tail = f" {rest}" if rest else ""
    if head.endswith("e") and not head.endswith("ee"):
        forms = {head, head + "s", head + "d", head[:-1] + "ing"}
    elif head.endswith("y") and len(head) > 2 and head[-2] not in _VOWELS:
        forms = {head, head[:-1] + "ies", head[:-1] + "ied", head + "ing"}
    elif head.endswith(("sh", "ch", "ss", "x")):
        forms = {head, head + "es", head + "ed", head + "ing"}
    else:
        forms = {head, head + "s", head + "ed", head + "ing"}
    return {form + tail for form in forms}


def _is_bare(form: str, base: str) -> bool:
    """True for forms that do not say something was done: "restart", "restarts", "restarting"."""
    if form in _SAME_IN_PAST:
        return False
    words, base_words = form.split(), base.split()
    return form == base or words[0] == base_words[0] \
        or any(w.endswith(("ing", "ies")) for w in words) \
        or any(w in (stem + "s", stem + "es") for w, stem in zip(words, base_words, strict=False))


def _expand(entries: list[str], *, inflect: bool) -> tuple[frozenset[str], frozenset[str]]:
    """All forms of `entries`, and the subset that are bare (base, -s and -ing) forms."""
    forms: set[str] = set()
    bare: set[str] = set()
    for entry in entries:
        listed = entry.split("|") if "|" in entry else sorted(_inflect(entry) if inflect
                                                               else {entry})
        base = listed[0] if "|" in entry else entry
        forms.update(listed)
        bare.update(form for form in listed if _is_bare(form, base))
    for collection in (forms, bare):
        collection.update(["re" + form[3:] for form in collection if form.startswith("re-")])
    return frozenset(forms), frozenset(bare)


def _alternation(phrases: frozenset[str]) -> str:
    """A regex alternation matching any phrase as whole words, longest first."""
    ordered = sorted(phrases, key=lambda p: (-len(p), p))
    body = "|".join(re.escape(p).replace(r"\ ", r"[ \t]+") for p in ordered)
    return rf"(?<![\w'-])(?:{body})(?![\w'])"


_PREFIX = 3


class PhrasePattern(CasePattern):
    """`_alternation` of many phrases, with `match` indexed by the phrase's first characters.

    ``match`` at one position is what the rules ask of the verb lexicon ("does this segment
    start with a done-verb?"), and `re` tries the alternatives one by one: hundreds of them.
    Only phrases starting with the text's next three characters can match there, so on
    lowercase ASCII text `match` runs the alternation of just those (plus the phrases too short
    or too spaced to index), in the same longest-first order: the same match, found sooner.
    """

    __slots__ = ("_buckets", "_loose")

    def __init__(self, phrases: frozenset[str]) -> None:
        super().__init__(_alternation(phrases))
        loose = frozenset(p for p in phrases
                          if len(p) < _PREFIX or any(c.isspace() for c in p[:_PREFIX]))
        groups: dict[str, set[str]] = {}
        for phrase in phrases - loose:
            groups.setdefault(phrase[:_PREFIX], set()).add(phrase)
        self._loose = re.compile(_alternation(loose)) if loose else None
        self._buckets = {key: re.compile(_alternation(frozenset(group) | loose))
                         for key, group in groups.items()}

    def match(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        """`re.Pattern.match`."""
        key = text[pos:min(pos + _PREFIX, endpos)]
        if len(key) < _PREFIX or self.exact is self.folded or not (text.isascii()
                                                                    and text.islower()):
            return super().match(text, pos, endpos)
        bucket = self._buckets.get(key, self._loose)
        return bucket.match(text, pos, endpos) if bucket is not None else None


@dataclass(frozen=True)
class VerbLexicon:
    """Action, communication and symptom verbs, as sets and as compiled phrase patterns."""

    version: int
    action_forms: frozenset[str]
    action_bases: frozenset[str]
    communication_forms: frozenset[str]
    symptom_verbs: frozenset[str]
    not_actions: frozenset[str]
    action_pattern: CasePattern
    communication_pattern: CasePattern

    def is_base_form(self, phrase: str) -> bool:
        """True for a bare form ("update", "restarts", "rebooting"), not a done one ("rebooted")."""
        return phrase in self.action_bases


@cache
def verbs() -> VerbLexicon:
    """The shipped verb lexicon (loaded and compiled once per process)."""
    data = load_json("verbs.json")
    action_forms, action_bases = _expand(data["action"], inflect=True)
    communication_forms, _ = _expand(data["communication"], inflect=False)
    return VerbLexicon(
        version=int(data["version"]),
        action_forms=action_forms,
        action_bases=action_bases,
        communication_forms=communication_forms,
        symptom_verbs=frozenset(data["symptom_verbs"]),
        not_actions=frozenset(data["not_actions"]),
        action_pattern=PhrasePattern(action_forms),
        communication_pattern=CasePattern(_alternation(communication_forms)),
    )
