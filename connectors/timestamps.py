"""Timestamps as files hold them: ISO 8601 or a PSA export format, naive ones in a known zone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator

EXPORT_FORMATS = (
    "%m/%d/%y %I:%M %p",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)
"""Formats tried after ISO 8601 when no `date_format` is configured: the US-style ones ConnectWise,
Autotask and HaloPSA exports use. Day-first exports need `date_format` (e.g. "%d/%m/%Y %H:%M")."""


def _check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown IANA time zone {name!r} (e.g. 'UTC', 'America/New_York')"
        ) from exc
    return name


ZoneName = Annotated[str, AfterValidator(_check_zone)]
"""An IANA time zone name, checked when the settings load."""


class TimestampReader:
    """Reads the timestamps of one file: `date_format`, else ISO 8601, else EXPORT_FORMATS.

    Naive results are placed in `zone`. An export uses one format throughout, so the format
    that read the last value is tried first.
    """

    def __init__(self, *, zone: ZoneInfo, date_format: str | None = None) -> None:
        self.zone = zone
        self.date_format = date_format
        self._formats = [date_format] if date_format else list(EXPORT_FORMATS)

    def __call__(self, text: str) -> datetime:
        """The aware datetime `text` names; ValueError quoting `text` when no format fits."""
        text = text.strip()
        parsed = None if self.date_format else _isoformat(text)
        if parsed is None:
            parsed = self._strptime(text)
        if parsed is None and self.date_format:
            parsed = _isoformat(text)
        if parsed is None:
            expected = (f"the format {self.date_format!r} or ISO 8601" if self.date_format
                        else "ISO 8601 or a known export format")
            raise ValueError(f"invalid datetime {text!r}: not {expected}")
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=self.zone)

    def _strptime(self, text: str) -> datetime | None:
        for position, fmt in enumerate(self._formats):
            try:
                parsed = datetime.strptime(text, fmt)  # naive: the zone is applied above
            except ValueError:
                continue
            if position:
                self._formats.insert(0, self._formats.pop(position))
            return parsed
        return None


def localise_naive(value: object, zone: ZoneInfo) -> object:
    """An ISO 8601 string without an offset becomes the same wall time in `zone` (as ISO text);
    anything else is returned unchanged for validation to judge."""
    if not isinstance(value, str):
        return value
    parsed = _isoformat(value)
    if parsed is None or parsed.tzinfo is not None:
        return value
    return parsed.replace(tzinfo=zone).isoformat()


def _isoformat(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
