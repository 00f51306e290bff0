"""The Autotask REST query language, as the sandbox evaluates it over in-memory records.

A query body is `{"filter": [...], "MaxRecords": 500, "IncludeFields": [...]}` (keys are
case-insensitive). Top-level filter items are ANDed; `{"op": "and" | "or", "items": [...]}`
groups them. Comparison operators: eq, noteq, gt, gte, lt, lte, beginsWith, endsWith, contains,
exist, notExist, in, notIn (REST basic query calls page); `"udf": true` reads a user-defined
field. Strings compare case-insensitively (SQL Server's default collation), timestamps as
instants. Anything else is refused with the vendor's `{"errors": [...]}` shape.

Paging is an id keyset: a page token `{"pageSize", "previousIds", "nextIds"}` names the first id
of the page it points to; results are always in ascending id order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

MAX_RECORDS = 500
COMPARISONS = frozenset({"eq", "noteq", "gt", "gte", "lt", "lte", "beginswith", "endswith",
                         "contains", "exist", "notexist", "in", "notin"})
GROUPS = frozenset({"and", "or"})

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]


class QueryError(Exception):
    """A query the API refuses: `status` and the message for `{"errors": [message]}`."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Query:
    """A parsed query body."""

    filters: list[dict[str, Any]]
    max_records: int
    include_fields: list[str] | None


def parse_query(body: Any) -> Query:
    """Read a query body; raise QueryError the way Autotask answers a bad one."""
    if not isinstance(body, dict):
        raise QueryError(500, "Value cannot be null. Parameter name: filters")
    keys = {key.lower(): value for key, value in body.items()}
    filters = keys.get("filter")
    if not isinstance(filters, list) or not filters:
        raise QueryError(500, "Value cannot be null. Parameter name: filters")
    max_records = keys.get("maxrecords", MAX_RECORDS)
    if not isinstance(max_records, int) or isinstance(max_records, bool) \
            or not 1 <= max_records <= MAX_RECORDS:
        raise QueryError(500, "maxCountOfRecordsToReturn must be between 1 and 500")
    include = keys.get("includefields")
    if include is not None and (not isinstance(include, list)
                                or not all(isinstance(name, str) for name in include)):
        raise QueryError(400, "IncludeFields must be a list of field names")
    return Query(filters=filters, max_records=max_records, include_fields=include or None)


def compile_filters(filters: Sequence[Any], fields: Mapping[str, str], entity: str) -> Predicate:
    """A predicate for a filter list; `fields` maps lower-cased field names to the real ones."""
    predicates = [_compile(item, fields, entity) for item in filters]
    return lambda record: all(predicate(record) for predicate in predicates)


def exact_values(filters: Sequence[Any], field: str) -> set[Any] | None:
    """Values a top-level `eq`/`in` item pins `field` to (None if none does): an index hint."""
    for item in filters:
        if not isinstance(item, dict) or str(item.get("field", "")).lower() != field.lower():
            continue
        op = str(item.get("op", "")).lower()
        if op == "eq":
            return {item.get("value")}
        if op == "in" and isinstance(item.get("value"), list):
            return set(item["value"])
    return None


def project(record: Record, include: list[str] | None, fields: Mapping[str, str]) -> dict:
    """The record with only `include` fields (and its id), or all of it."""
    if not include:
        return dict(record)
    names = {"id", *(fields.get(name.lower(), name) for name in include)}
    return {name: record[name] for name in names if name in record}


def paging_token(page_size: int, previous: list[int], start: int) -> str:
    """The `paging` parameter for the page starting at id `start`."""
    return json.dumps({"pageSize": page_size, "previousIds": previous, "nextIds": [start]},
                      separators=(",", ":"))


def read_paging(text: str | None) -> tuple[list[int], int] | None:
    """(previous page starts, this page's first id) from a `paging` parameter, or None."""
    if not text:
        return None
    try:
        token = json.loads(text)
        previous = [int(value) for value in token.get("previousIds") or []]
        start = int(token["nextIds"][0])
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise QueryError(400, "The paging parameter is not valid") from exc
    return previous, start


@lru_cache(maxsize=131_072)
def parse_instant(text: str) -> datetime | None:
    """An ISO 8601 timestamp (naive ones are UTC), or None when `text` is not one."""
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _compile(item: Any, fields: Mapping[str, str], entity: str) -> Predicate:
    if not isinstance(item, dict):
        raise QueryError(400, "Each filter must be an object with an op")
    op = str(item.get("op", "")).lower()
    if op in GROUPS:
        children = item.get("items")
        if not isinstance(children, list) or not children:
            raise QueryError(400, f"The '{op}' grouping needs a non-empty items list")
        predicates = [_compile(child, fields, entity) for child in children]
        if op == "and":
            return lambda record: all(predicate(record) for predicate in predicates)
        return lambda record: any(predicate(record) for predicate in predicates)
    if op not in COMPARISONS:
        raise QueryError(400, f"Invalid operator '{item.get('op')}' in the filter")
    name = item.get("field")
    if not isinstance(name, str) or not name:
        raise QueryError(400, f"The '{op}' filter needs a field")
    read = _reader(name, bool(item.get("udf")), fields, entity)
    if op in ("exist", "notexist"):
        wanted = op == "exist"
        return lambda record: (read(record) not in (None, "")) == wanted
    if "value" not in item:
        raise QueryError(400, f"The '{op}' filter on '{name}' needs a value")
    value = item["value"]
    if op in ("in", "notin"):
        if not isinstance(value, list):
            raise QueryError(400, f"The '{op}' filter on '{name}' needs a list value")
        keys = {_key(element) for element in value}
        inside = op == "in"
        return lambda record: (_key(read(record)) in keys) == inside
    return _comparison(op, read, value)


def _reader(name: str, udf: bool, fields: Mapping[str, str], entity: str) -> Callable[[Record],
                                                                                      Any]:
    if udf:
        def read_udf(record: Record) -> Any:
            for entry in record.get("userDefinedFields") or ():
                if isinstance(entry, dict) and str(entry.get("name", "")).lower() == name.lower():
                    return entry.get("value")
            return None
        return read_udf
    real = fields.get(name.lower())
    if real is None and fields:
        raise QueryError(400, f"Unable to find {name} in the {entity} entity.")
    real = real or name
    return lambda record: record.get(real)


def _key(value: Any) -> Any:
    """A comparable form: timestamps as instants, numbers as floats, text case-folded."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        instant = parse_instant(value)
        if instant is not None:
            return instant
        try:
            return float(value)
        except ValueError:
            return value.casefold()
    return value


def _comparison(op: str, read: Callable[[Record], Any], value: Any) -> Predicate:
    target = _key(value)
    text = str(value).casefold()

    def match(record: Record) -> bool:
        actual = read(record)
        if actual is None:
            return op == "noteq"
        if op in ("beginswith", "endswith", "contains"):
            have = str(actual).casefold()
            return (have.startswith(text) if op == "beginswith"
                    else have.endswith(text) if op == "endswith" else text in have)
        key = _key(actual)
        if op == "eq":
            return key == target
        if op == "noteq":
            return key != target
        try:
            return {"gt": key > target, "gte": key >= target,
                    "lt": key < target, "lte": key <= target}[op]
        except TypeError:  # e.g. a timestamp compared with a number: no match, like SQL
            return False

    return match
