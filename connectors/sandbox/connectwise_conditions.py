"""The ConnectWise `conditions` query language, parsed for real by the sandbox emulation.

Supported, as the vendor documents it: comparisons `= != < <= > >=` against numbers, "strings"
(backslash escapes), [datetimes], true/false/null; `contains` and `like` (wildcards `*` or `%`),
each optionally negated with `not`; `in (...)` and `not in (...)`; `and` / `or` (and binds
tighter) and parentheses. String comparisons ignore case, as ConnectWise's SQL Server does.
Anything else, or a field the endpoint does not know, raises ConditionError; the emulation
answers it with the vendor's 400 error body.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

_TOKEN = re.compile(r"""\s*(?:
    (?P<lpar>\() | (?P<rpar>\)) | (?P<comma>,) |
    (?P<op><=|>=|!=|<>|=|<|>) |
    (?P<string>"(?:[^"\\]|\\.)*") |
    (?P<stamp>\[[^\]]*\]) |
    (?P<number>-?\d+(?:\.\d+)?)(?![\w/]) |
    (?P<word>[A-Za-z_][A-Za-z0-9_/.]*)
)""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "in", "contains", "like", "true", "false", "null"}
_STAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class ConditionError(ValueError):
    """The conditions text is not valid for this endpoint."""


@dataclass(frozen=True)
class Stamp:
    """A [datetime] literal, normalised to UTC ISO text so stamps compare as strings."""

    text: str


Value = int | float | str | bool | None | Stamp


@dataclass(frozen=True)
class Compare:
    """`field op value`."""

    path: str
    op: str
    value: Value


@dataclass(frozen=True)
class Member:
    """`field [not] in (values)`."""

    path: str
    values: tuple[Value, ...]
    negate: bool = False


@dataclass(frozen=True)
class TextMatch:
    """`field [not] contains|like "pattern"`."""

    path: str
    op: str
    pattern: str
    negate: bool = False


@dataclass(frozen=True)
class AllOf:
    """Every part holds."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    """At least one part holds."""

    parts: tuple[Node, ...]


Node = Compare | Member | TextMatch | AllOf | AnyOf


def normalise_stamp(text: str) -> str:
    """Any ISO 8601 datetime as `YYYY-MM-DDTHH:MM:SSZ` (UTC; a naive one is taken as UTC)."""
    if len(text) == 20 and text.endswith("Z") and text[10] == "T":
        return text
    return _parse_stamp(text)


@lru_cache(maxsize=4096)
def _parse_stamp(text: str) -> str:
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(_STAMP_FORMAT)


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, str]) -> None:
        self.tokens = _tokenise(text)
        self.pos = 0
        self.fields = {name.lower(): path for name, path in fields.items()}

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None, word: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ConditionError("the conditions end too early")
        if (kind and token[0] != kind) or (word and token[1].lower() != word):
            raise ConditionError(f"unexpected {token[1]!r} in conditions")
        self.pos += 1
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].lower() in words

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise ConditionError(f"unexpected {self.peek()[1]!r} in conditions")  # type: ignore[index]
        return node

    def expr(self) -> Node:
        parts = [self.conjunction()]
        while self.at_word("or"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def conjunction(self) -> Node:
        parts = [self.unary()]
        while self.at_word("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def unary(self) -> Node:
        if self.peek() is not None and self.peek()[0] == "lpar":  # type: ignore[index]
            self.take("lpar")
            node = self.expr()
            self.take("rpar")
            return node
        return self.comparison()

    def comparison(self) -> Node:
        name = self.take("word")[1]
        if name.lower() in _KEYWORDS:
            raise ConditionError(f"expected a field name, found {name!r}")
        path = self.fields.get(name.lower())
        if path is None:
            raise ConditionError(f"{name} is not a field this endpoint can filter on")
        negate = self.at_word("not")
        if negate:
            self.take()
        if self.at_word("in"):
            self.take()
            self.take("lpar")
            values = [self.value()]
            while self.peek() is not None and self.peek()[0] == "comma":  # type: ignore[index]
                self.take()
                values.append(self.value())
            self.take("rpar")
            return Member(path, tuple(values), negate)
        if self.at_word("contains", "like"):
            op = self.take()[1].lower()
            pattern = self.value()
            if not isinstance(pattern, str):
                raise ConditionError(f"{op} needs a quoted string")
            return TextMatch(path, op, pattern, negate)
        if negate:
            raise ConditionError("not must be followed by in, contains or like")
        op = self.take("op")[1]
        return Compare(path, "!=" if op == "<>" else op, self.value())

    def value(self) -> Value:
        kind, text = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "stamp":
            try:
                return Stamp(normalise_stamp(text[1:-1]))
            except ValueError as exc:
                raise ConditionError(f"{text} is not a valid datetime") from exc
        if kind == "word" and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if kind == "word" and text.lower() == "null":
            return None
        raise ConditionError(f"expected a value, found {text!r}")


def _tokenise(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if match is None or match.end() == pos:
            raise ConditionError(f"cannot read the conditions at {stripped[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def parse_conditions(text: str, fields: Mapping[str, str]) -> Node:
    """Parse `conditions`; `fields` maps the names an endpoint accepts to record paths."""
    if not text.strip():
        raise ConditionError("the conditions are empty")
    return _Parser(text, fields).parse()


def lookup(record: Mapping[str, Any], path: str) -> Any:
    """The value at a `/`-separated path of a JSON record (None when absent)."""
    value: Any = record
    for key in path.split("/"):
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _compare(actual: Any, op: str, expected: Value) -> bool:
    if expected is None:
        return (actual is None) if op == "=" else (actual is not None) if op == "!=" else False
    if actual is None:
        return op == "!="
    if isinstance(expected, bool) or isinstance(actual, bool):
        if not (isinstance(expected, bool) and isinstance(actual, bool)) or op not in ("=", "!="):
            return False
        return (actual == expected) == (op == "=")
    left: Any
    right: Any
    if isinstance(expected, Stamp):
        if not isinstance(actual, str):
            return False
        try:
            left, right = normalise_stamp(actual), expected.text
        except ValueError:
            return False
    elif isinstance(expected, str):
        left, right = str(actual).casefold(), expected.casefold()
    elif isinstance(actual, int | float):
        left, right = actual, expected
    else:
        return False
    return {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]


@lru_cache(maxsize=256)
def _like(pattern: str) -> re.Pattern[str]:
    parts = [".*" if char in "*%" else re.escape(char) for char in pattern]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def matches(node: Node, record: Mapping[str, Any]) -> bool:
    """Whether `record` satisfies the parsed conditions."""
    if isinstance(node, AllOf):
        return all(matches(part, record) for part in node.parts)
    if isinstance(node, AnyOf):
        return any(matches(part, record) for part in node.parts)
    actual = lookup(record, node.path)
    if isinstance(node, Compare):
        return _compare(actual, node.op, node.value)
    if isinstance(node, Member):
        found = any(_compare(actual, "=", value) for value in node.values)
        return found != node.negate
    text = "" if actual is None else str(actual)
    if node.op == "contains":
        hit = node.pattern.casefold() in text.casefold()
    else:
        hit = _like(node.pattern).fullmatch(text) is not None
    return hit != node.negate


def _top_level(node: Node) -> tuple[Node, ...]:
    return node.parts if isinstance(node, AllOf) else (node,)


def id_candidates(node: Node, path: str) -> set[int] | None:
    """The only values of integer field `path` the conditions allow (None: not limited)."""
    allowed: set[int] | None = None
    for part in _top_level(node):
        values: set[int] | None = None
        if isinstance(part, Member) and part.path == path and not part.negate:
            values = {v for v in part.values if isinstance(v, int) and not isinstance(v, bool)}
        elif isinstance(part, Compare) and part.path == path and part.op == "=":
            values = {part.value} if isinstance(part.value, int) else set()
        if values is not None:
            allowed = values if allowed is None else allowed & values
    return allowed


def lower_bound(node: Node, path: str) -> int | None:
    """The largest `path > N` (or `>= N + 1`) the conditions demand at the top level."""
    bound: int | None = None
    for part in _top_level(node):
        if isinstance(part, Compare) and part.path == path and isinstance(part.value, int):
            if part.op == ">":
                bound = max(bound if bound is not None else part.value, part.value)
            elif part.op == ">=":
                bound = max(bound if bound is not None else part.value - 1, part.value - 1)
    return bound
