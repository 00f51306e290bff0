"""Settings every API source shares: schedule, lookback, backfill, HTTP limits, write-back, secrets.

Secrets (`SecretStr` fields listed in `secret_fields`) never come from the config file: the
settings loader fills them from environment variables named `FIXEDIT_<SOURCE>_<FIELD>`, where
SOURCE is the source's name upper-cased with every other character than A-Z and 0-9 turned into
"_" (source "cw-main", field "private_key" -> FIXEDIT_CW_MAIN_PRIVATE_KEY).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from connectors.http import HttpSettings
from records import ConfigError

log = logging.getLogger(__name__)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> Any:
    """'90s', '10m', '1h', '30d', '2w', a number of seconds, or an ISO 8601 'PT10M' -> timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            unit = (match.group(2) or "s").lower()
            return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[unit])
    return value  # let pydantic try (ISO 8601 durations) and report the error


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
"""A length of time written as '10m', '1h', '30d', seconds, or ISO 8601 ('PT10M')."""


def secret_env_name(source: str, field: str) -> str:
    """The environment variable a source's secret field is read from."""
    stem = re.sub(r"[^A-Z0-9]", "_", source.upper())
    return f"FIXEDIT_{stem}_{field.upper()}"


class WritebackSettings(BaseModel):
    """Posting internal notes back to the PSA. Off unless switched on; dry-run only logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    dry_run: bool = True
    suggest: bool = Field(
        default=False,
        description="Post the top prior resolutions as an internal note on newly opened tickets "
                    "(needs enabled = true; dry_run = true only logs).")
    suggest_limit: int = Field(default=3, ge=1, le=10,
                               description="At most this many prior resolutions per note.")
    suggest_min_score: float = Field(
        default=0.0, ge=0.0,
        description="Leave out matches scoring below this; 0 keeps every match.")
    suggest_confident_only: bool = Field(
        default=False, description="Post only when at least one match is confident.")
    suggest_max_age: Duration = Field(
        default=timedelta(days=3),
        description="Only tickets opened within this long are new enough for a suggestion.")

    @model_validator(mode="after")
    def _suggest_needs_writeback(self) -> WritebackSettings:
        if self.suggest and not self.enabled:
            raise ValueError("suggest = true needs enabled = true (use dry_run = true to only "
                             "log what would be posted)")
        if self.suggest_max_age <= timedelta(0):
            raise ValueError("suggest_max_age must be positive")
        return self

    def should_post(self, *, source: str, vendor: str, ticket_id: str, text: str) -> bool:
        """Whether to really post: ConfigError when write-back is off; False in dry-run mode
        (after logging what would have been posted, never the text itself)."""
        if not self.enabled:
            raise ConfigError(f"sources.{source}.writeback.enabled",
                              f"write-back is off; set it to true to post notes to {vendor}")
        if self.dry_run:
            log.info("source %s: dry run: would post an internal note of %d characters to "
                     "ticket %s", source, len(text), ticket_id)
            return False
        return True


class ApiSourceSettings(BaseModel):
    """The settings every API connector's `[[sources]]` table shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_fields: ClassVar[tuple[str, ...]] = ()
    """Names of SecretStr fields that must come from the environment."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    schedule: str = Field(default="15m", description="How often the daemon syncs: '15m', '1h'.")
    lookback: Duration = Field(default=timedelta(minutes=10),
                               description="Overlap re-read before the cursor each run.")
    safety_lag: Duration = Field(default=timedelta(minutes=1),
                                 description="The cursor never passes run start minus this.")
    start_date: datetime | date | None = Field(
        default=None, description="Where the first sync starts; default three years back.")
    backfill_slice: Duration = Field(default=timedelta(days=30),
                                     description="Width of one checkpointed backfill window.")
    reconcile_every: Duration = Field(default=timedelta(hours=24),
                                      description="How often ids are listed to find deletions.")
    http: HttpSettings = Field(default_factory=HttpSettings)
    writeback: WritebackSettings = Field(default_factory=WritebackSettings)

    @field_validator("lookback", "safety_lag", "backfill_slice", "reconcile_every")
    @classmethod
    def _non_negative(cls, value: timedelta, info: Any) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        if info.field_name == "backfill_slice" and value < timedelta(hours=1):
            raise ValueError("must be at least 1h")
        return value

    def first_start(self, now: datetime) -> datetime:
        """Where a first sync starts: `start_date` (UTC midnight for a date) or three years back."""
        start = self.start_date
        if start is None:
            return now - timedelta(days=3 * 365)
        if isinstance(start, datetime):
            return start if start.tzinfo else start.replace(tzinfo=UTC)
        return datetime(start.year, start.month, start.day, tzinfo=UTC)
