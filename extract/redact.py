"""Redaction: secrets out of ticket and deal text before anything is stored, exported or extracted.

Each rule finds one written form of a secret and replaces the secret itself (not its label) with
``[REDACTED:<category>]``, so "pw: Hunter2!" becomes "pw: [REDACTED:password]" and the note still
reads as a note. Rules run on the stored text as-is (plain, HTML or a raw JSON payload), err on the
side of redacting, and are idempotent: a marker is never redacted again. What is redacted is
counted by category, never logged.

Categories: password, api_key, token, private_key, card_number, recovery_key, license_key;
and, when a `RedactionSettings` turns them on (see ``extract.pii``), email, phone, ip_address and
contact_name. ``python -m bench.redaction`` measures the rules on a labelled set of planted
secrets and of ordinary notes full of look-alikes (tests/extract/data/redaction/).

Speed: redaction runs on every ticket before extraction and almost every note has no secret.
Every rule carries a gate, the literal words any of its matches must contain ("pass", "key",
"://" ...), sometimes with a cheap search; a rule's pattern only runs over a text that passes
it. `redact_ticket` gates all of a ticket's texts at once, joined by line breaks, and each
rule the ticket lets through searches them joined, once, from the places its first words
stand; only a text it finds a match in is redacted, on its own (`_redact_texts`). A gate is a
necessary condition, never a heuristic, so it cannot change what is redacted; no match runs
over a line break between two texts, and the few patterns rewritten to stay linear on
adversarial input match exactly what they matched before. tests/extract/test_redact_gates.py
checks both against the rules as they were, ungated, text by text, and
tests/extract/test_redaction_speed_joined.py the joined search against them.
"""

from __future__ import annotations

import bisect
import functools
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from extract.pii import RedactionSettings, redact_pii
from records import AuthorRole, Contact, CustomField, Deal, Note, Ticket

__all__ = ["MARKER_PATTERN", "RedactionCounts", "RedactionSettings", "marker", "redact_deal",
           "redact_text", "redact_ticket"]

MARKER_PATTERN = re.compile(r"\[REDACTED:[a-z_]+\]")
_NOT_MARKER = r"(?!\[REDACTED:)"
_I = re.IGNORECASE
# Between a label and its value: spaces, &nbsp; or a few inline tags ("Password:</b> x").
_GAP = r"(?:[ \t]|&nbsp;|<[^<>\n]{0,80}>)*+"
# Always the last thing a rule matches, so the longest run is the match: possessive, it is
# taken in one sweep with no backtracking state, which keeps a 1 MB run linear.
_UNQUOTED = r"(?:[^\s\"<]++|<(?![/!A-Za-z]))++"
# Microsoft/Google app passwords are four groups of four letters: take all of them.
_FOUR_BY_FOUR = r"[a-z]{4}(?:[ -][a-z]{4}){3}(?![\w])"
_VALUE = (rf"(?:\"(?P<dq>{_NOT_MARKER}[^\"\n]{{1,120}})\"|'(?P<sq>{_NOT_MARKER}[^'\n]{{1,120}})'"
          rf"|(?P<value>{_NOT_MARKER}(?:{_FOUR_BY_FOUR}|{_UNQUOTED})))")
_LABEL_END = r"[\"']?"
_PW_WORD = (r"(?:password|passwort|passwd|passcode|passphrase|pass[ -]phrase|pword|pswd|pwd|pw"
            r"|p/w)")
# The words that may stand before a password label ("new", "local admin"). The label rule no
# longer spells them out (see its comment); test_redact_gates rebuilds the rule with them.
_PW_QUALIFIER = (r"(?:(?:new|temp|temporary|old|current|default|initial|local|admin|administrator"
                 r"|wifi|wi-fi|wireless|root|user|vpn|email|router|domain|service|account|app"
                 r"|portal|login|sa|the|his|her|their|user's|users)[ \t]+)*")
_FOR_WHOM = r"(?:[ \t]+(?:for|of|on)(?:[ \t]+[\w.@'-]{1,40}){1,3}?)?"
# Words that follow "password:" in ordinary notes and are not secrets.
_NOT_SECRETS = frozenset({
    "reset", "expired", "expiring", "changed", "change", "updated", "unknown", "none", "n/a", "na",
    "same", "sent", "emailed", "texted", "provided", "set", "required", "blank", "empty", "see",
    "below", "above", "attached", "in", "on", "redacted", "hidden", "removed", "not", "no", "yes",
    "ok", "correct", "incorrect", "wrong", "invalid", "locked", "works", "working", "manager",
    "vault", "policy", "given", "shared", "known", "requirements", "complexity", "prompt",
    "user", "will", "to", "the", "a", "is", "was", "for", "via", "from", "with", "by", "must",
    "needs", "pending", "tbd", "stored", "saved", "rotated", "unchanged", "as", "and", "or",
})
# A masked value ("PW: ********") is no secret.
_MASK = frozenset("*•·xX.-_#")
_TRAILING = ",;:)]}"
_CODE = re.compile(r"0x[0-9a-f]+|kb\d+|\d+", re.IGNORECASE)
# Where a label ends and its value begins: "pw: x", "pw = x", "pw => x", "pw -> x", "pw - x".
_SEP = r"(?:[:=]|=>|->|-(?=[ \t]))"
# A label starts after a non-alphanumeric, so "AWS_SECRET_ACCESS_KEY" has a "SECRET" label in it.
_START = r"(?<![A-Za-z0-9])"


@dataclass(frozen=True, eq=False)
class RedactionCounts(Mapping[str, int]):
    """How many secrets of each category were redacted, e.g. {"password": 2, "api_key": 1}."""

    counts: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", {k: v for k, v in sorted(self.counts.items()) if v})

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.counts)

    def __len__(self) -> int:
        return len(self.counts)

    def __repr__(self) -> str:
        return f"RedactionCounts({dict(self.counts)!r})"

    @property
    def total(self) -> int:
        """All secrets redacted, over every category."""
        return sum(self.counts.values())


# What most tickets get back: one shared instance, as a RedactionCounts never changes.
_NO_COUNTS = RedactionCounts()


def marker(category: str) -> str:
    """The text that stands in for a redacted secret of `category`."""
    return f"[REDACTED:{category}]"


def _looks_secret(value: str) -> bool:
    """A bare word after "password is" is a secret only if it does not read like English."""
    word = value.strip("\"'").rstrip(".!?" + _TRAILING)
    if len(word) < 4 or word.lower() in _NOT_SECRETS:
        return False
    return any(c.isdigit() or c.isupper() or not c.isalnum() for c in word)


def _labelled(value: str) -> bool:
    """A value after "password:" is a secret unless it is one of the ordinary status words."""
    word = value.strip("\"'").rstrip(".!?" + _TRAILING).lower()
    return bool(word) and word not in _NOT_SECRETS and not set(word) <= _MASK


def _long_token(value: str) -> bool:
    word = value.strip("\"'").rstrip(".!?" + _TRAILING)
    return len(word) >= 20 or (len(word) >= 8 and any(c.isdigit() for c in word)
                               and any(c.isalpha() for c in word))


def _high_entropy(value: str) -> bool:
    """A bare string after "key"/"secret"/"token" is a secret only if it looks random."""
    word = value.strip("\"'").rstrip(".!?" + _TRAILING)
    if len(word) < 16 or not any(c.isdigit() for c in word) or not any(c.isalpha() for c in word):
        return False
    frequencies = Counter(word)
    entropy = -sum(n / len(word) * math.log2(n / len(word)) for n in frequencies.values())
    return entropy >= 3.0


def _strong(value: str) -> bool:
    """A bare word after "pw" with no label punctuation: a secret only if it mixes letters with
    digits or symbols and is no hex code ("password 0xC000006D")."""
    word = value.strip("\"'").rstrip(".!?" + _TRAILING)
    if len(word) < 6 or word.lower() in _NOT_SECRETS or _CODE.fullmatch(word):
        return False
    letters = word.replace("'", "").replace("\u2019", "")
    if not any(c.isalpha() for c in word) or (letters != word and letters.isalpha()):
        return False  # no letters at all, or an English contraction ("doesn't", "user's")
    if word.isalpha():  # random mixed case ("AwavAsQlqoczPU"), not a name ("SharePoint")
        return len(word) >= 8 and sum(c.isupper() for c in word[1:]) >= 2 and not word.isupper()
    return True


def _wifi_key(value: str) -> bool:
    """WPA keys are 8 to 63 characters, so "SSID: Guest / 5GHz" names a band, not a key."""
    return len(value.strip("\"'").rstrip(".!?" + _TRAILING)) >= 8 and _looks_secret(value)


def _key_value(value: str) -> bool:
    """A value after "key:" is a secret if it looks like one and is no registry path."""
    return (_looks_secret(value) and "\\" not in value
            and not value.upper().startswith(("HK", "/", "%")))


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = int(char)
        if index % 2:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


_CARD_PREFIX = re.compile(r"(?:4|5[1-5]|2[2-7]|3[47]|3[068]|6(?:011|5|4[4-9])|35)")


def _card(value: str) -> bool:
    digits = re.sub(r"[ -]", "", value)
    return 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) is not None and _luhn(digits)


# A bytes.translate table: every digit to "0", any other byte to "x".
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x78 for byte in range(256))
# The same with spaces and dashes also made "0": a table alone, with no bytes to delete,
# translates in a third of the time (0.9 against 2.4 us on a ticket's texts).
_DIGITS_AND_GAPS = bytes(0x30 if 0x30 <= byte <= 0x39 or byte in b" -" else 0x78
                         for byte in range(256))


def _digit_run(count: int) -> Callable[[str], bool]:
    """A gate for number rules: the text holds `count` digits in a row, each at most one space
    or dash from the next (any text that is not ASCII passes, as ``\\d`` also matches other
    scripts' digits). Most tickets hold that many digits (dates, addresses, ticket numbers),
    few in one run, so a ticket's texts seldom need the card rule, and then often no rule.
    With spaces and dashes deleted and digits made "0", such a run is `count` zeros. Such a
    run is also `count` or more characters in a row that are digits, spaces or dashes, which
    the faster translation tests first: few texts hold that many (a wide indent does), and
    only those are translated again, with the spaces and dashes deleted."""
    run = b"0" * count

    def in_a_run(text: str) -> bool:
        if len(text) < count:
            return False
        if not text.isascii():
            return True
        encoded = text.encode("ascii")
        return (run in encoded.translate(_DIGITS_AND_GAPS)
                and run in encoded.translate(_DIGITS, b" -"))
    return in_a_run


def _has(pattern: str, flags: int = 0) -> Callable[[str], bool]:
    """A gate that searches for a fragment every match holds; it starts with a literal, which
    the regex engine finds with a fast scan instead of trying every position. One such search
    also replaces looking for many words one by one."""
    search = re.compile(pattern, flags).search
    return lambda text: search(text) is not None


# Under re.IGNORECASE these four non-ASCII letters match ASCII ones (i, i, s, k), which
# str.lower() alone does not give; folding them first keeps every gate a necessary condition.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def _fold(text: str) -> str:
    """`text` lower-cased so that an ignore-case match of an ASCII word is a substring of it.
    `str.translate` looks every character up in a dict (50 ns a character), so it only runs
    on a text holding one of the four letters; looking for them is four fast scans."""
    if ("\u0130" in text or "\u0131" in text or "\u017f" in text or "\u212a" in text):
        text = text.translate(_FOLD)
    return text.lower()


@dataclass(frozen=True)
class _Rule:
    """One written form of a secret.

    `needs` is the rule's gate: every group must have one of its words in the text (the
    case-folded text when the pattern ignores case) or the pattern cannot match; `gate` is an
    extra necessary condition on that same text: on the folded text, a gate of an ignore-case
    rule searches case-sensitively, which is faster (see the "root/" rule). Both only skip
    work, never change a result.
    `plain_pattern` is `pattern` compiled with re.ASCII, for plain texts (see `_plain`).
    `starts` (ignore-case rules only) are the folded words every match *begins* with, at the
    match's first character: a match can only start where one of them stands (see `_search`).
    """

    category: str
    pattern: re.Pattern[str]
    accept: Callable[[str], bool] | None = None
    needs: tuple[tuple[str, ...], ...] = ()
    gate: Callable[[str], bool] | None = None
    folded: bool = False
    groups: tuple[str, ...] = ()
    plain_pattern: re.Pattern[str] | None = None
    starts: tuple[str, ...] = ()

    def may_match(self, text: str, folded: str) -> bool:
        """False only when the pattern cannot match `text` (`folded` is `_fold(text)`)."""
        haystack = folded if self.folded else text
        for words in self.needs:
            for word in words:
                if word in haystack:
                    break
            else:
                return False
        return self.gate is None or self.gate(haystack)


def _rule(category: str, pattern: str, accept: Callable[[str], bool] | None = None,
          flags: int = _I, *, needs: Sequence[Sequence[str]] = (),
          gate: Callable[[str], bool] | None = None, starts: Sequence[str] = ()) -> _Rule:
    compiled = re.compile(pattern, flags)
    folded = bool(flags & re.IGNORECASE)
    if folded and any(word != _fold(word) for words in needs for word in words):
        raise ValueError(f"gate words of an ignore-case rule must be folded: {needs!r}")
    if starts and (not folded or any(word != _fold(word) for word in starts)):
        raise ValueError(f"start words need an ignore-case rule and folded words: {starts!r}")
    groups = tuple(name for name in ("value", "dq", "sq") if name in compiled.groupindex)
    return _Rule(category, compiled, accept, tuple(tuple(words) for words in needs), gate,
                 folded, groups, re.compile(pattern, flags | re.ASCII), tuple(starts))


# Gate words shared by the password rules: _PW_WORD and "pass" all contain one of them.
_PW_NEEDLES = ("pass", "pw", "pswd", "p/w")
# _SEP and the "is"/"was" alternatives: one of these follows every label.
_SEP_NEEDLES = (":", "=", "-", "is", "was")

# Gates `_SHARED_GATES` looks for together.
_AWS_KEY = _has(r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|IPA)")
_GOOGLE_KEY = _has(r"AIza")
_RECOVERY_KEY = _has(r"-\d{6}-")
_LICENSE_KEY = _has(r"-[A-Z0-9]{5}-")


# Order matters: whole blocks and unambiguous token shapes first, labelled forms after.
# Each rule's `needs` lists the words any match must contain (see _Rule): case-sensitive rules
# name them as written, ignore-case rules lower-cased.
_RULES: tuple[_Rule, ...] = (
    _rule("private_key",
          r"(?P<value>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
          r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z))", flags=re.DOTALL,
          needs=[["-----BEGIN "], ["PRIVATE KEY"]]),
    _rule("api_key", r"\b(?P<value>(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|AIPA)[A-Z0-9]{16})\b", flags=0,
          gate=_AWS_KEY),
    _rule("api_key", r"\b(?P<value>AIza[0-9A-Za-z_-]{35})", flags=0, gate=_GOOGLE_KEY),
    _rule("api_key", r"\b(?P<value>(?:sk|rk)_(?:live|test)_[0-9a-zA-Z]{16,})", flags=0,
          needs=[["_"]], gate=_has(r"_(?:live|test)_")),
    _rule("api_key", r"\b(?P<value>sk-(?:proj-)?[A-Za-z0-9_-]{20,})", flags=0, needs=[["sk-"]]),
    _rule("api_key", r"\b(?P<value>SG\.[\w-]{16,}\.[\w-]{16,})", flags=0, needs=[["SG."]]),
    _rule("api_key", r"\b(?P<value>SK[0-9a-f]{32})\b", flags=0, needs=[["SK"]]),
    _rule("token", r"\b(?P<value>gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})",
          flags=0, needs=[["_"]], gate=_has(r"gh[pousr]_|github_pat_")),
    _rule("token", r"\b(?P<value>xox[abposr]-[A-Za-z0-9-]{10,})", flags=0, needs=[["xox"]]),
    _rule("token", r"(?P<value>hooks\.slack\.com/services/[A-Za-z0-9/]{20,})", flags=0,
          needs=[["hooks.slack.com/services/"]]),
    _rule("token", r"\b(?P<value>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})",
          flags=0, needs=[["eyJ"]]),
    _rule("token", rf"\b(?:bearer|basic)[ \t]++(?P<value>{_NOT_MARKER}[A-Za-z0-9._~+/=-]{{16,}})",
          needs=[["bearer", "basic"]], starts=["bearer", "basic"]),
    _rule("token", rf"[?&](?:sig|access_token|token|api_key|apikey|key)=(?P<value>{_NOT_MARKER}"
                   r"[A-Za-z0-9%._~+/=-]{12,})", needs=[["sig=", "token=", "key="], ["?", "&"]],
          starts=["?", "&"]),
    _rule("recovery_key", r"\b(?P<value>\d{6}(?:-\d{6}){7})\b", flags=0,
          needs=[["-"]], gate=_RECOVERY_KEY),
    _rule("license_key", r"\b(?P<value>(?=[A-Z0-9-]{0,28}\d)(?=[A-Z0-9-]{0,28}[A-Z])[A-Z0-9]{5}"
                         r"(?:-[A-Z0-9]{5}){4})\b", flags=0,
          needs=[["-"]], gate=_LICENSE_KEY),
    # A digit not preceded by a digit or dash: the same as a "(?<![\d-])" in front, but starting
    # with the digit lets the engine skip to the digits of a note instead of trying every place.
    _rule("card_number", r"(?P<value>\d(?<![\d-]\d)(?:[ -]?\d){12,18})(?![\d-])", _card,
          flags=0, gate=_digit_run(13)),
    # URL userinfo: scheme://user:secret@host
    _rule("password", rf"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{{0,30}}://[^:@/\s]+:"
                      rf"(?P<value>{_NOT_MARKER}[^@/\s]+)@", needs=[["://"], ["@"]]),
    # Connection strings: Password=...; (the value stops at ';')
    _rule("password", rf"(?<![\w-])(?:password|pwd)[ \t]*=[ \t]*+(?P<value>{_NOT_MARKER}"
                      r"[^;\"'<\n]+?)[ \t]*(?=;|\"|'|$)", flags=_I | re.MULTILINE,
          needs=[["password", "pwd"], ["="]], starts=["password", "pwd"]),
    _rule("api_key", rf"\b(?:accountkey|sharedaccesskey)[ \t]*=[ \t]*+(?P<value>{_NOT_MARKER}"
                     r"[^;\"'<\s]+)", needs=[["accountkey", "sharedaccesskey"], ["="]],
          starts=["accountkey", "sharedaccesskey"]),
    # Labelled keys and tokens: "api key: abc123...", "client_secret=..."
    _rule("api_key", rf"{_START}(?:api[ _-]?key|api[ _-]?secret|client[ _-]?secret"
                     r"|secret[ _-]?(?:access[ _-]?)?key|access[ _-]?key(?:[ _-]?id)?"
                     r"|secret|license[ _-]?key|product[ _-]?key|account[ _-]?key)s?"
                     rf"{_LABEL_END}{_GAP}(?:{_SEP}|\bis\b|\bwas\b){_GAP}{_VALUE}", _long_token,
          needs=[["key", "secret"], _SEP_NEEDLES],
          starts=["api", "client", "secret", "access", "license", "product", "account"]),
    _rule("token", rf"{_START}(?:(?:access|auth|refresh|api|bearer|session|sas"
                   r"|personal[ _-]access)[ _-]?)?token"
                   rf"{_LABEL_END}{_GAP}(?:{_SEP}|\bis\b|\bwas\b){_GAP}{_VALUE}", _long_token,
          needs=[["token"], _SEP_NEEDLES],
          starts=["access", "auth", "refresh", "api", "bearer", "session", "sas", "personal",
                  "token"]),
    # "key: x", "key1: x", "the key is x"; not "Registry key: HKLM\..."
    _rule("api_key", rf"{_START}key\d?{_LABEL_END}{_GAP}(?:{_SEP}|\bis\b){_GAP}{_VALUE}",
          _key_value, needs=[["key"], _SEP_NEEDLES], starts=["key"]),
    # A random-looking string right after "key", "secret" or "token": "auth token 9f3a...".
    _rule("api_key", rf"{_START}(?:key|secret|token)[ \t]++(?P<value>{_NOT_MARKER}"
                     r"[A-Za-z0-9+/_.~=-]{16,})", _high_entropy,
          needs=[["key", "secret", "token"]], starts=["key", "secret", "token"]),
    _rule("password", r"\b(?:shared[ _-]?secret|pre-?shared[ _-]?key|psk|wpa2?[ _-]?key"
                      r"|wi-?fi[ _-]?key|network[ _-]?key)s?"
                      rf"{_LABEL_END}{_GAP}(?:{_SEP}|\bis\b|\bwas\b){_GAP}{_VALUE}", _labelled,
          needs=[["secret", "key", "psk"], _SEP_NEEDLES],
          starts=["shared", "pre", "psk", "wpa", "wifi", "wi-fi", "network"]),
    # "Wi-Fi: GuestNet / x", "SSID HarborGuest / x"
    _rule("password", r"\b(?:wi-?fi|wireless|ssid)\b[ \t]*:?[ \t]*[\w.-]+[ \t]+/[ \t]+"
                      rf"{_VALUE}", _wifi_key,
          needs=[["wifi", "wi-fi", "wireless", "ssid"], ["/"]],
          starts=["wifi", "wi-fi", "wireless", "ssid"]),
    # "iDRAC root/x", "admin/x": a well-known account name, a slash, a secret (not a path).
    # Linear on "admin/admin/admin/...": the value is taken whole (a shorter one has the same
    # slash ahead of it, so would fail the path check too) and the check stops at that slash.
    _rule("password", r"\b(?:root|admin|administrator|sa|ubnt|pi)/"
                      rf"(?P<value>{_NOT_MARKER}[^\s/\"<]++)(?![^\s<]*?/)", _strong,
          # The first look-behind, the last letters of the names, turns most slashes of a
          # note (URLs, dates, "and/or") away with one test instead of six.
          needs=[["/"]], gate=_has(r"/(?<=[tnrai]/)(?:(?<=root/)|(?<=admin/)"
                                   r"|(?<=administrator/)|(?<=sa/)|(?<=ubnt/)|(?<=pi/))"),
          starts=["root/", "admin/", "administrator/", "sa/", "ubnt/", "pi/"]),
    # "| PRN-2F | local admin | x |": a table row with an account column then a secret
    _rule("password", r"\|[ \t]*(?:(?:local|domain)[ \t]+)?(?:admin|administrator|root|password|pw)"
                      rf"[ \t]*\|[ \t]*(?P<value>{_NOT_MARKER}[^|\s]+)[ \t]*\|", _looks_secret,
          needs=[["|"], ["admin", "root", "password", "pw"]], starts=["|"]),
    # "pw: x", "pwd=x", "pass: x", "new password - x"
    # "creds: jdoe / x": the user name, a slash, the secret. "Windows Credentials: removed the
    # two stale entries" has no user/secret pair and is left alone.
    _rule("password", r"\b(?:creds|credentials|login details|login)[ \t]*[:=]?[ \t]*+"
                      rf"[\w.@\\-]+[ \t]*/[ \t]*{_VALUE}", _looks_secret,
          needs=[["cred", "login"], ["/"]], starts=["cred", "login"]),
    # "new password: x": the optional qualifier words in front ("new", "local admin") match
    # nothing the rule without them would miss, as none of them starts with a password word
    # and they are kept as they are; dropping them from the pattern saves trying every
    # qualifier at every word of a note (test_redact_gates checks the equivalence).
    _rule("password", rf"\b(?:{_PW_WORD}|pass){_FOR_WHOM}"
                      rf"{_LABEL_END}{_GAP}{_SEP}{_GAP}{_VALUE}", _labelled,
          needs=[_PW_NEEDLES, [":", "=", "-"]], starts=_PW_NEEDLES),
    # "password is x", "pw was x", "password set to x", "password now x"
    _rule("password", rf"\b{_PW_WORD}{_FOR_WHOM}[ \t]+"
                      r"(?:is|was|now|(?:is )?(?:set|changed|reset) to)"
                      rf"(?:[ \t]+now)?+[ \t]++{_VALUE}", _looks_secret,
          needs=[_PW_NEEDLES, ["is", "was", "now", "set", "changed"]], starts=_PW_NEEDLES),
    # "Do you need my password? It's Bluebird#88", "changed the pw, the new one is X"
    _rule("password", rf"\b{_PW_WORD}\b[^\n]{{0,40}}?\b(?:it'?s|it is|the new one is"
                      rf"|new one is|is now|use)[ \t]++{_VALUE}", _looks_secret,
          needs=[_PW_NEEDLES, ["it", "new one is", "is now", "use"]], starts=_PW_NEEDLES),
    # "set local admin to X", "reset pw to X", "changed her password to X"
    _rule("password", r"\b(?:set|reset|changed?|updated?|made)[ \t]+"
                      r"(?:(?:the|his|her|their|user'?s?|local|domain|wifi|admin)[ \t]+){0,3}"
                      rf"(?:{_PW_WORD}|admin|administrator)[ \t]+(?:to|as)[ \t]++{_VALUE}",
          _looks_secret,
          needs=[[*_PW_NEEDLES, "admin"], ["set", "chang", "updat", "made"], ["to", "as"]],
          starts=["set", "reset", "chang", "updat", "made"]),
    # "temp password Welcome123!", "new pw of X"
    _rule("password", rf"\b(?:temp|temporary|new|initial|default|one-time|otp)[ \t]+{_PW_WORD}"
                      rf"[ \t]++(?:of[ \t]++|is[ \t]++)?+{_VALUE}", _looks_secret,
          needs=[_PW_NEEDLES, ["temp", "new", "initial", "default", "one-time", "otp"]],
          starts=["temp", "new", "initial", "default", "one-time", "otp"]),
    # No label punctuation at all: 'admin password "x"', "user jdoe pw Garden53", "passphrase x"
    _rule("password", rf"\b{_PW_WORD}[ \t]++(?:\"(?P<dq>{_NOT_MARKER}[^\"\n]{{1,120}})\""
                      rf"|'(?P<sq>{_NOT_MARKER}[^'\n]{{1,120}})')", _labelled,
          needs=[_PW_NEEDLES, ['"', "'"]], starts=_PW_NEEDLES),
    _rule("password", rf"\b{_PW_WORD}[ \t]++(?P<value>{_NOT_MARKER}{_UNQUOTED})", _strong,
          needs=[_PW_NEEDLES], starts=_PW_NEEDLES),
)


def _clip(value: str) -> str:
    """Trailing list punctuation after an unquoted value belongs to the sentence."""
    clipped = value.rstrip(_TRAILING)
    return clipped or value


# Where Unicode and ASCII matching differ on ASCII text: only \x1c to \x1f, control characters
# that Unicode's \s matches and ASCII's does not (\w, \d, \b and ignoring case agree).
def _plain(text: str) -> bool:
    """True when every rule's `plain_pattern` finds in `text` exactly what its `pattern` finds:
    an ASCII text without those four characters. The ASCII twins search about 1.6 times as
    fast (twice for patterns starting with \b): no Unicode table to consult. Four `in` (each a
    memchr) cost a hundredth of a search for ``[\x1c-\x1f]``, which tries every character."""
    return (text.isascii() and "\x1c" not in text and "\x1d" not in text and "\x1e" not in text
            and "\x1f" not in text)


# Past this many places where a rule's start words stand, `_search` scans instead: a text
# full of "pw pw pw ..." is not tried one place at a time from Python. A ticket's texts joined
# (`_redact_texts`) may hold one place per `_START_SPACING` characters: trying a place from
# Python costs about what scanning that many characters with an ignore-case pattern does.
_MAX_STARTS = 12
_START_SPACING = 32


def _start_places(starts: tuple[str, ...], folded: str, limit: int = _MAX_STARTS
                  ) -> list[int] | None:
    """Where in `folded` one of `starts` stands, in order (a place twice when two words stand
    there); None past `limit` places. Words that share a regex (`_place_finders`) are found
    with it, the others one place at a time."""
    places: list[int] = []
    finders, alone = _place_finders(starts)
    for finditer in finders:
        for found in finditer(folded):
            places.append(found.start())
            if len(places) > limit:
                return None
    for word in alone:
        place = folded.find(word)
        while place >= 0:
            places.append(place)
            if len(places) > limit:
                return None
            place = folded.find(word, place + 1)
    places.sort()
    return places


@functools.lru_cache(maxsize=64)
def _place_finders(starts: tuple[str, ...]
                   ) -> tuple[tuple[Callable[[str], Iterator[re.Match[str]]], ...],
                              tuple[str, ...]]:
    """`finditer`s that together give every place of some of `starts` once, and the words
    left to `str.find`. Bounded: keyed on a rule's start words.

    Start words sharing their first character ("pass", "pw", "pswd", "p/w") are found by one
    regex, one scan instead of one `str.find` a word (1.5 against 4.7 us on a ticket of 1,600
    characters; a word alone is found as fast by `str.find`). `finditer` only reports matches
    that do not overlap, so a group holds words none of which starts another (two words at
    one place are two places) and none of which holds the group's first character past its
    start: no place of a word then starts inside a match of another.
    """
    groups: list[list[str]] = []
    for word in starts:
        for group in groups:
            first = group[0][0]
            if word[0] == first and first not in word[1:] and not any(
                    first in other[1:] or other.startswith(word) or word.startswith(other)
                    for other in group):
                group.append(word)
                break
        else:
            groups.append([word])
    finders = tuple(re.compile("|".join(re.escape(word) for word in group)).finditer
                    for group in groups if len(group) > 1)
    return finders, tuple(word for group in groups if len(group) == 1 for word in group)


def _search(rule: _Rule, pattern: re.Pattern[str], text: str, folded: str | None,
            places: dict[tuple[str, ...], list[int] | None] | None = None
            ) -> re.Match[str] | None:
    """`pattern.search(text)`, trying only the places a match can start when `folded` (the
    folded `text`, given for plain texts only) and the rule's `starts` allow.

    Every match of a rule with `starts` begins with one of them, so trying `pattern.match` at
    each place one stands, leftmost first, finds what the search would: the search tries every
    place in the same order, and a match at a place does not depend on where a search began
    (look-behinds and \b see the text before it). Most places of a note are no such place,
    and a scan with an ignore-case pattern costs 10 to 60 ns a character.

    `places` keeps `_start_places` of `text` by start words: seven password rules share theirs.
    """
    if folded is None or not rule.starts:
        return pattern.search(text)
    if places is None:
        found_places = _start_places(rule.starts, folded)
    elif rule.starts in places:
        found_places = places[rule.starts]
    else:
        found_places = places[rule.starts] = _start_places(rule.starts, folded)
    if found_places is None:
        return pattern.search(text)
    match = pattern.match
    for place in found_places:
        found = match(text, place)
        if found is not None:
            return found
    return None


def _apply(rule: _Rule, text: str, counts: Counter[str], *, plain: bool = False,
           folded: str | None = None,
           places: dict[tuple[str, ...], list[int] | None] | None = None) -> str:
    """`text` with every secret `rule` finds replaced, with the rule's ASCII twin when `plain`
    (`_plain(text)`; then `folded` may be `_fold(text)` and `places` its start places, see
    `_search`). Even past its gate a
    text seldom holds a match, and a bare search is cheaper than a substitution that finds
    nothing; when it finds one, the substitution goes on from there, not from the start."""
    pattern = rule.plain_pattern if plain and rule.plain_pattern is not None else rule.pattern
    first = _search(rule, pattern, text, folded if plain else None, places)
    if first is None:
        return text
    return _replace(rule, pattern, text, first.start(), counts)


def _replace(rule: _Rule, pattern: re.Pattern[str], text: str, first: int,
             counts: Counter[str]) -> str:
    """`text` with every secret `rule` finds replaced, where `first` is where the first match
    of `pattern` (the rule's pattern or, on a plain text, its twin) starts."""
    groups = rule.groups
    accept = rule.accept
    # What pattern.sub() returns with each match's secret part replaced by the marker: no
    # match lies before `first`, and a search from there finds the same matches (no pattern
    # matches an empty string). A match whose value is no secret is left in the text, and a
    # text with no secret comes back as it was, not joined again.
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(text, first):
        name = next(name for name in groups if match.group(name) is not None)
        value = match.group(name)
        if "[REDACTED:" in value or (accept is not None and not accept(value)):
            continue
        secret = _clip(value) if name == "value" else value
        start = match.start(name)
        pieces.append(text[position:start])
        pieces.append(marker(rule.category))
        position = start + len(secret)
        counts[rule.category] += 1
    if not pieces:
        return text
    pieces.append(text[position:])
    return "".join(pieces)


# (word, bit mask of the rules whose first gate group holds it), for raw and folded text.
_Triggers = tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...]]


def _trigger_table(rules: Sequence[_Rule]) -> tuple[_Triggers, int]:
    """Which rules each first-group gate word can let through, and the rules with no words.

    Looking each distinct word up once, and then checking the whole gate of only the rules it
    lets through, keeps the cost of gating low: most notes contain none of the words.
    """
    raw: dict[str, int] = {}
    folded: dict[str, int] = {}
    ungated = 0
    for index, rule in enumerate(rules):
        if not rule.needs:
            ungated |= 1 << index
            continue
        table = folded if rule.folded else raw
        for word in rule.needs[0]:
            table[word] = table.get(word, 0) | 1 << index
    return (_covering(raw), _covering(folded)), ungated


def _covering(table: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """The words of `table` that contain no other of its words, each with the rules of the
    words containing it too: "pass" stands in for "password" (a text holding "password" holds
    "pass"), so there are fewer words to look for and each rule still passes when it should.
    A single character ("/", "-") is too common to stand in for a longer word."""
    kept = {word: rules for word, rules in table.items()
            if not any(len(other) > 1 and other != word and other in word for other in table)}
    for word, rules in table.items():
        for short in kept:
            if short in word and (len(short) > 1 or short == word):
                kept[short] |= rules
    return tuple(kept.items())


_TRIGGERS, _UNGATED = _trigger_table(_RULES)


def _triggered_exactly(index: int) -> bool:
    """True when every trigger word that lets rule `index` through is a word of its first gate
    group: such a word in a text is then that group passed, not just a shorter word of it
    ("pass" lets "password" rules through without "password" being there)."""
    rule = _RULES[index]
    return all(word in rule.needs[0]
               for words in _TRIGGERS for word, rules in words if rules >> index & 1)


# For each rule, the gate groups `_passing` still has to check on a candidate.
_LEFT_TO_CHECK = tuple(
    rule.needs[1:] if rule.needs and _triggered_exactly(index) else rule.needs
    for index, rule in enumerate(_RULES))
_ALL_RULES = (1 << len(_RULES)) - 1

# One regex for a few trigger words and the rules each lets through, with the union of those.
_Probe = tuple[re.Pattern[str], dict[str, int], int]


# From this length on, `in` finds a word faster than a regex (see `_probes`).
_LONG_WORD = 10


def _probes(words: Sequence[tuple[str, int]]
            ) -> tuple[tuple[tuple[str, int], ...], tuple[_Probe, ...]]:
    """`words` made ready for a long text (a ticket's texts joined): single characters and
    long words ("hooks.slack.com/services/") stay words, for `in` (a memchr, or a search that
    skips ahead by about the word's length: half the time of the regex); other words sharing
    their first character become one regex, whose matches (their group 1) are the words the
    text holds; a word alone starts its regex at its least common character (`_probe_pattern`).
    On a long text the regex engine's literal scan beats `in` for short words, and one scan
    serves the group.

    The matches give every word of a group the text holds when no word of it starts another and
    none holds the group's first character past its start: an occurrence then cannot start
    inside an earlier match, nor where another word matches. A word that would break this
    gets a regex of its own.
    """
    singles = tuple((word, rules) for word, rules in words
                    if len(word) == 1 or len(word) >= _LONG_WORD)
    groups: list[dict[str, int]] = []
    for word, rules in words:
        if len(word) == 1 or len(word) >= _LONG_WORD:
            continue
        for group in groups:
            first = next(iter(group))[0]
            if word[0] == first and first not in word[1:] and not any(
                    other.startswith(word) or word.startswith(other) for other in group):
                group[word] = rules
                break
        else:
            groups.append({word: rules})
    probes = tuple(
        (re.compile(_probe_pattern(list(group))), group,
         functools.reduce(operator.or_, group.values()))
        for group in groups)
    return singles, probes


# Characters of ticket text, the most common first (from the sandbox tickets): a character not
# here is rarer than all of them.
_COMMON = " etoanisrldcphm><fugy.b-vwk0/:1,=\"5234"


def _probe_pattern(words: list[str]) -> str:
    """The regex of a probe: its words, the one found in group 1 of a match.

    The regex engine scans for the literal a pattern starts with and tries a match wherever
    its first character stands. A word alone starts the pattern at its least common
    character ("ken" for "token", "J" for "eyJ"), with a look-behind giving the whole word:
    half the tries on a common first letter (0.6 against 0.8 us for "token", 0.5 against 1
    on "eyJ"). The rest of the word from there stays at least two characters long, which the
    engine checks in its scan, unless the character is none of `_COMMON`.
    """
    if len(words) > 1:
        return "(" + "|".join(re.escape(word) for word in words) + ")"
    (word,) = words
    rank = {char: index for index, char in enumerate(_COMMON)}
    start = max((index for index, char in enumerate(word)
                 if char not in rank or len(word) - index >= 2),
                key=lambda index: rank.get(word[index], len(_COMMON)), default=0)
    if start == 0:
        return "(" + re.escape(word) + ")"
    return re.escape(word[start:]) + "(?<=(" + re.escape(word) + "))"


# `_TRIGGERS` for `_ticket_gate`: raw words, then folded ones.
_TICKET_PROBES = (_probes(_TRIGGERS[0]), _probes(_TRIGGERS[1]))


def _gated(text: str, folded: str, within: int = _ALL_RULES) -> int:
    """The bit mask of the rules of `within` whose gate `text` passes (`folded` is
    `_fold(text)`).

    Every gate is monotone (what passes on a text passes on any text containing it), so the
    mask for a ticket's texts joined together bounds the mask of each of them.
    """
    (raw_words, folded_words), candidates = _triggers_within(within)
    # A word whose rules are all candidates already need not be looked for.
    for word, rules in raw_words:
        if rules & ~candidates and word in text:
            candidates |= rules
    for word, rules in folded_words:
        if rules & ~candidates and word in folded:
            candidates |= rules
    return _passing(candidates, text, folded)


def _passing(candidates: int, text: str, folded: str) -> int:
    """The rules of `candidates` whose whole gate `text` passes.

    `candidates` come from the trigger words (`_gated`, `_ticket_gate`), so the first group
    of a rule in `_TRIGGERED_EXACTLY` holds: only its other groups and its `gate` are left.
    """
    passed = 0
    while candidates:
        low = candidates & -candidates
        candidates ^= low
        index = low.bit_length() - 1
        rule = _RULES[index]
        haystack = folded if rule.folded else text
        for words in _LEFT_TO_CHECK[index]:
            for word in words:
                if word in haystack:
                    break
            else:
                break
        else:
            if rule.gate is None or rule.gate(haystack):
                passed |= low
    return passed


@functools.lru_cache(maxsize=1024)
def _triggers_within(within: int) -> tuple[_Triggers, int]:
    """`_TRIGGERS` and `_UNGATED` narrowed to the rules of `within`: after a redaction, a
    ticket's texts only look for the words of the rules still to run. Bounded: keyed on a rule
    mask."""
    raw_words, folded_words = _TRIGGERS
    return ((tuple((word, rules & within) for word, rules in raw_words if rules & within),
             tuple((word, rules & within) for word, rules in folded_words if rules & within)),
            _UNGATED & within)


def _rules_gated_by(*gates: Callable[[str], bool]) -> int:
    """The bit mask of the rules whose `gate` is one of `gates`."""
    return sum(1 << index for index, rule in enumerate(_RULES) if rule.gate in gates)


# Rules most tickets let through on their words ("-") or with none, each with a gate of its
# own: one scan finds what any of their gates needs, so a ticket with none of it (most) costs
# one scan, not one a rule.
_SHARED_GATES = (
    (_rules_gated_by(_AWS_KEY, _GOOGLE_KEY), _has(r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|IPA|Iza)")),
    # Either rule's gate passing means five digits or capitals after a dash, then a dash or
    # one more digit and a dash: one look-ahead, not two alternatives at every dash.
    (_rules_gated_by(_RECOVERY_KEY, _LICENSE_KEY), _has(r"-(?=[\dA-Z]{5}(?:-|\d-))")),
)


def _ticket_gate(joined: str, folded: str) -> int:
    """The rules `joined` (a ticket's texts joined, `folded` folded) can need: `_gated`, with
    the words looked up by `_TICKET_PROBES`, which beat one `in` a word on a long text, and
    the `_SHARED_GATES` tried first."""
    candidates = _UNGATED
    for haystack, (singles, probes) in zip((joined, folded), _TICKET_PROBES, strict=True):
        for word, rules in singles:
            if rules & ~candidates and word in haystack:
                candidates |= rules
        for pattern, rules_of, rules in probes:
            if rules & ~candidates:
                for match in pattern.finditer(haystack):
                    candidates |= rules_of[match[1]]
                    if not rules & ~candidates:
                        break  # a note of "pw pw pw ..." is not read to its end
    for rules, gate in _SHARED_GATES:
        if candidates & rules and not gate(joined):
            candidates &= ~rules
    return _passing(candidates, joined, folded)


# From about this length on, `_ticket_gate` gates a text faster than `_gated`'s one `in` a
# word does (on the sandbox tickets' texts: 21 against 23 us at 512 to 1023 characters, 5.5
# against 2.4 on a title); a short ticket, or a note alone (`redact_text`), takes `_gated`.
_PROBED_LENGTH = 768

# What `_redact_texts` joins a ticket's texts with. No match runs over it and it reads as the
# end of a text does: every part of a pattern that could cross it stops at a line break (all
# but the private key's ".*?", whose matches start where they would in the text alone), and
# \b, the look-arounds and MULTILINE's $ take it as they take a text's start or end.
_JOIN = "\n"


def _texts_matched(rule: _Rule, pattern: re.Pattern[str], joined: str, folded: str,
                   places: dict[tuple[str, ...], list[int] | None], bounds: Sequence[int]
                   ) -> list[tuple[int, int]]:
    """For each text of `joined` in which `pattern` (`rule`'s or its twin) matches, its index
    and where in it the first match starts; `bounds` are where the texts start in `joined`.

    Searches `joined` as `_search` searches a plain text (`places` keeps the start places of
    `folded`, the folded `joined`, by start words) and, after a match, goes on at the next
    text: the first match found in a text is its first match alone, as `_JOIN` says. The
    start places hold on a text that is not plain too: `_fold` keeps every character where
    it was and gives the ASCII letter an ignore-case match sees in it, so a match starting
    with a start word starts where the folded text holds the word. One ticket in 200 has a
    character past ASCII somewhere, and a full scan of it with each rule costs ten times
    what the rest of its redaction does.
    """
    found_places: list[int] | None = None
    if rule.starts:
        if rule.starts in places:
            found_places = places[rule.starts]
        else:
            found_places = places[rule.starts] = _start_places(
                rule.starts, folded, max(_MAX_STARTS, len(folded) // _START_SPACING))
    last = len(bounds) - 1
    hits: list[tuple[int, int]] = []
    if found_places is None:
        search = pattern.search
        found = search(joined)
        while found is not None:
            start = found.start()
            index = bisect.bisect_right(bounds, start) - 1
            hits.append((index, start - bounds[index]))
            if index == last:
                break
            found = search(joined, bounds[index + 1])
        return hits
    match = pattern.match
    after = 0
    for place in found_places:
        if place >= after and match(joined, place) is not None:
            index = bisect.bisect_right(bounds, place) - 1
            hits.append((index, place - bounds[index]))
            if index == last:
                break
            after = bounds[index + 1]
    return hits


def _redact_texts(texts: list[str]) -> Counter[str] | None:
    """Replace, in place, every secret in `texts` (one ticket's): for each text, what running
    every rule on it in order gives. Return the counts by category, or None when the ticket's
    gate let no rule through (most tickets; a Counter costs a microsecond to make).

    Most tickets hold no secret. The texts are gated together (`_ticket_gate`) and each rule
    let through searches them joined, once, instead of each text being gated and searched on
    its own; only a text the search finds a match in is redacted, as itself. A text left as
    it was stays the same object.
    """
    joined = _JOIN.join(texts)
    folded = _fold(joined)
    mask = (_ticket_gate(joined, folded) if len(joined) >= _PROBED_LENGTH
            else _gated(joined, folded))
    if not mask:
        return None
    counts: Counter[str] = Counter()
    plain = _plain(joined)
    bounds = _bounds(texts)
    places: dict[tuple[str, ...], list[int] | None] = {}
    while mask:
        low = mask & -mask
        mask ^= low
        rule = _RULES[low.bit_length() - 1]
        pattern = rule.plain_pattern if plain and rule.plain_pattern is not None else rule.pattern
        changed = False
        for index, first in _texts_matched(rule, pattern, joined, folded, places, bounds):
            text = texts[index]
            redacted = _replace(rule, pattern, text, first, counts)
            if redacted != text:
                texts[index] = redacted
                changed = True
        if changed:
            # A marker went in ("[REDACTED:password]" holds gate words): the rules still to
            # run are gated on the texts as they now are.
            joined = _JOIN.join(texts)
            folded = _fold(joined)
            plain = _plain(joined)
            bounds = _bounds(texts)
            places = {}
            mask = _gated(joined, folded, _ALL_RULES & ~((low << 1) - 1))
    return counts


def _bounds(texts: Sequence[str]) -> list[int]:
    """Where each of `texts` starts in `_JOIN.join(texts)`."""
    bounds = []
    position = 0
    for text in texts:
        bounds.append(position)
        position += len(text) + 1
    return bounds


def redact_text(text: str, *, pii: RedactionSettings | None = None,
                names: Iterable[str] = ()) -> tuple[str, Counter[str]]:
    """Replace every secret found in `text` (and the PII that `pii` turns on; `names` are the
    contact's names) by a marker; return the new text and counts by category."""
    texts = [text]
    counts = _redact_texts(texts) or Counter()
    (text,) = texts
    if pii is not None and pii.any:
        text = _redact_pii(text, counts, pii, names)
    return text, counts


def _redact_pii(text: str, counts: Counter[str], pii: RedactionSettings,
                names: Iterable[str]) -> str:
    """`redact_pii`, adding to `counts`."""
    text, found = redact_pii(text, pii, names=names)
    counts.update(found)
    return text


_SECRET_FIELD = re.compile(r"(?P<password>pass|pwd|pin\b)|secret|token|api.?key|recovery", _I)


@functools.lru_cache(maxsize=512)
def _secret_field(key: str, label: str | None) -> str | None:
    """The category of a custom field named like a secret ("password" or "api_key"), else None.
    Cached on the field's name: a PSA defines a handful of custom fields, and every ticket
    carries them again. Bounded, and never keyed on a value."""
    named = _SECRET_FIELD.search(f"{key} {label or ''}")
    if named is None:
        return None
    return "password" if named.group("password") else "api_key"


def _whole_field(field_: CustomField) -> str | None:
    """The category `field_` is redacted whole as, when it is named like a secret and its value
    is no blank and no marker; None for a field scanned as text or with no value."""
    if field_.value is None:
        return None
    category = _secret_field(field_.key, field_.label)
    if category and field_.value.strip() and not MARKER_PATTERN.fullmatch(field_.value.strip()):
        return category
    return None


def _contact_names(ticket: Ticket) -> list[str]:
    """The names of the client's people on this ticket: its contact and contact-written notes."""
    names = [ticket.contact] if ticket.contact else []
    names += [n.author for n in ticket.notes if n.author and n.author_role is AuthorRole.CONTACT]
    return names


def _redacted_notes(notes: Sequence[Note], texts: Sequence[str], names: Sequence[str],
                    counts: Counter[str]) -> list[Note]:
    """`notes` with their redacted `texts` (one a note), and the contact's name as author
    replaced where `names` holds it (counted); a note with nothing changed is kept as it is."""
    redacted: list[Note] = []
    for note, text in zip(notes, texts, strict=True):
        update = {"text": text} if text != note.text else {}
        if note.author and note.author in names:
            update["author"] = marker("contact_name")
            counts["contact_name"] += 1
        redacted.append(note.model_copy(update=update) if update else note)
    return redacted


def redact_ticket(ticket: Ticket, *, pii: RedactionSettings | None = None
                  ) -> tuple[Ticket, RedactionCounts]:
    """A copy of `ticket` with secrets (and the PII `pii` turns on) removed from its title,
    description, notes and custom fields, and how many of each category were removed; with
    nothing removed, `ticket` itself (a Ticket is frozen) and empty counts.

    With ``pii.contact_names`` the contact's name is also removed from the ``contact`` field and
    from the author of the notes the contact wrote.
    """
    names = _contact_names(ticket) if pii is not None and pii.contact_names else []
    notes = ticket.notes
    fields = ticket.custom_fields
    # A custom field named like a secret is redacted whole; any other is scanned as text.
    wholes = [_whole_field(field_) for field_ in fields]
    texts = [ticket.title, ticket.description]
    texts += [note.text for note in notes]
    texts += [field_.value for field_, whole in zip(fields, wholes, strict=True)
              if whole is None and field_.value is not None]
    found = _redact_texts(texts)
    if pii is not None and pii.any:
        found = found or Counter()
        texts = [_redact_pii(text, found, pii, names) for text in texts]
    # With `names`, the contact's name goes from the contact field or a note's author.
    if not found and not names and not any(wholes):
        return ticket, _NO_COUNTS
    counts = found or Counter()
    redacted_notes = _redacted_notes(notes, texts[2:2 + len(notes)], names, counts)
    values = iter(texts[2 + len(notes):])
    redacted_fields: list[CustomField] = []
    for field_, whole in zip(fields, wholes, strict=True):
        if whole is not None:
            counts[whole] += 1
            redacted_fields.append(field_.model_copy(update={"value": marker(whole)}))
        elif field_.value is None:
            redacted_fields.append(field_)
        else:
            value = next(values)
            redacted_fields.append(
                field_.model_copy(update={"value": value}) if value != field_.value else field_)
    changes: dict[str, object] = {"title": texts[0], "description": texts[1],
                                  "notes": redacted_notes, "custom_fields": redacted_fields}
    if names and ticket.contact:
        changes["contact"] = marker("contact_name")
        counts["contact_name"] += 1
    return ticket.model_copy(update=changes), RedactionCounts(dict(counts))


def _deal_contact_names(deal: Deal) -> list[str]:
    """The names of the client's people on this deal: its contacts and the authors of the notes
    they wrote. A name that is already a marker is none, so a redacted deal stays as it is."""
    names = [contact.name for contact in deal.contacts]
    names += [n.author for n in deal.notes if n.author and n.author_role is AuthorRole.CONTACT]
    return [name for name in names if name.strip() and not MARKER_PATTERN.fullmatch(name.strip())]


def _unredacted(value: str | None) -> bool:
    """Whether a field replaced whole has a value to replace: not blank and not a marker."""
    return bool(value and value.strip()) and not MARKER_PATTERN.fullmatch((value or "").strip())


# The fields of a Contact scanned as text, in the order `redact_deal` lays them out.
_CONTACT_TEXTS = ("name", "title", "company", "email")


def redact_deal(deal: Deal, *, pii: RedactionSettings | None = None
                ) -> tuple[Deal, RedactionCounts]:
    """A copy of `deal` with secrets (and the PII `pii` turns on) removed, and how many of each
    category were removed; with nothing removed, `deal` itself (a Deal is frozen) and empty
    counts. `redact_ticket` for a CRM deal.

    Secrets go from the deal's name, description, every note's text (calls, meetings, e-mails)
    and each contact's name, title, company and e-mail, the CRM's free-typed fields. The PII
    `pii` turns on goes from the same texts, except for a contact's own name and e-mail, which
    are the CRM's record of whom to call and are kept as they are unless `pii` says otherwise:

    - ``pii.emails``: a contact's ``email`` is replaced whole by the e-mail marker, as an address
      in a note is (a Contact has no phone field; a number in its other fields goes with
      ``pii.phones``);
    - ``pii.contact_names``: the contacts' names (and the authors of contact-written notes) are
      removed wherever they appear in the texts, from the notes they wrote as author, and from
      each contact's ``name`` field, as a ticket's contact is.

    A contact's title and company, and the deal's company, stage, owner (the MSP's own
    salesperson, like a ticket's assignee) and other structured fields are kept.
    """
    names = _deal_contact_names(deal) if pii is not None and pii.contact_names else []
    notes = deal.notes
    contacts = deal.contacts
    texts = [deal.name, deal.description]
    texts += [note.text for note in notes]
    for contact in contacts:
        texts += [getattr(contact, name) or "" for name in _CONTACT_TEXTS]
    found = _redact_texts(texts)
    emails_whole = pii is not None and pii.emails and any(
        _unredacted(contact.email) for contact in contacts)
    if not found and not names and not emails_whole and (pii is None or not pii.any):
        return deal, _NO_COUNTS
    counts = found or Counter()
    first_contact = 2 + len(notes)
    if pii is not None and pii.any:
        for index in range(first_contact):
            texts[index] = _redact_pii(texts[index], counts, pii, names)
        for index in range(first_contact, len(texts), len(_CONTACT_TEXTS)):
            # A contact's name is replaced whole with contact_names; its e-mail is only ever
            # replaced whole (below), never scanned for phones or IPs.
            for offset, name in enumerate(_CONTACT_TEXTS):
                if name == "email" or (name == "name" and pii.contact_names):
                    continue
                texts[index + offset] = _redact_pii(texts[index + offset], counts, pii, names)
    redacted_notes = _redacted_notes(notes, texts[2:first_contact], names, counts)
    redacted_contacts: list[Contact] = []
    for number, contact in enumerate(contacts):
        start = first_contact + number * len(_CONTACT_TEXTS)
        changes: dict[str, str] = {}
        for name, text in zip(_CONTACT_TEXTS, texts[start:start + len(_CONTACT_TEXTS)],
                              strict=True):
            if text != (getattr(contact, name) or ""):
                changes[name] = text
        if pii is not None and pii.contact_names and _unredacted(contact.name):
            changes["name"] = marker("contact_name")
            counts["contact_name"] += 1
        if pii is not None and pii.emails and _unredacted(contact.email):
            changes["email"] = marker("email")
            counts["email"] += 1
        redacted_contacts.append(contact.model_copy(update=changes) if changes else contact)
    if not any(counts.values()):
        return deal, _NO_COUNTS
    return deal.model_copy(update={"name": texts[0], "description": texts[1],
                                   "notes": redacted_notes, "contacts": redacted_contacts}
                           ), RedactionCounts(dict(counts))
