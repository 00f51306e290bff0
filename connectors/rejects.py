"""Reasons for `records.Reject`: short, naming the field, readable by the person fixing the file."""

from __future__ import annotations

from pydantic import ValidationError

_MAX_ERRORS = 5


def validation_reason(exc: ValidationError) -> str:
    """`field: message; field: message` for a pydantic error (at most five, then a count)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = []
    for error in errors[:_MAX_ERRORS]:
        location = ".".join(str(part) for part in error["loc"]) or "record"
        parts.append(f"{location}: {error['msg']}")
    if len(errors) > _MAX_ERRORS:
        parts.append(f"and {len(errors) - _MAX_ERRORS} more errors")
    return "; ".join(parts)


def row_label(numbers: list[int], noun: str = "row") -> str:
    """`row 3` or `rows 3, 7, 9` (the first ten, then an ellipsis) for a reject reason."""
    if len(numbers) == 1:
        return f"{noun} {numbers[0]}"
    shown = ", ".join(str(number) for number in numbers[:10])
    return f"{noun}s {shown}{', ...' if len(numbers) > 10 else ''}"
