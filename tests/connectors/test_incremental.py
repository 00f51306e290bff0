"""Incremental windows: bounded, resumable, overlapping, never past run start minus lag."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from pydantic import ValidationError

from connectors.incremental import Window, from_iso, plan_windows, to_iso
from connectors.settings import ApiSourceSettings, parse_duration, secret_env_name
from records import Cursor

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
PLAN = dict(now=NOW, first_start=datetime(2024, 1, 1, tzinfo=UTC), lookback=timedelta(minutes=10),
            safety_lag=timedelta(minutes=1), slice_size=timedelta(days=30))


def test_first_sync_backfills_in_bounded_slices_up_to_now_minus_lag() -> None:
    windows = list(plan_windows(None, **PLAN))
    assert windows[0].start == datetime(2024, 1, 1, tzinfo=UTC)
    assert all(w.end - w.start <= timedelta(days=30) for w in windows)
    assert all(a.end == b.start for a, b in pairwise(windows))
    assert windows[-1].end == NOW - timedelta(minutes=1)
    assert len(windows) == 6


def test_finished_cursor_steps_back_by_lookback() -> None:
    [window] = plan_windows(Cursor(value="2024-06-01T11:00:00Z"), **PLAN)
    assert window == Window(start=datetime(2024, 6, 1, 10, 50, tzinfo=UTC),
                            end=NOW - timedelta(minutes=1), after_id=None)


def test_cursor_part_way_through_a_window_resumes_after_the_last_id() -> None:
    since = Window(start=datetime(2024, 2, 1, tzinfo=UTC), end=datetime(2024, 3, 2, tzinfo=UTC)
                   ).cursor_after(4711)
    windows = list(plan_windows(since, **PLAN))
    assert windows[0].start == datetime(2024, 2, 1, tzinfo=UTC)
    assert windows[0].after_id == 4711
    assert all(w.after_id is None for w in windows[1:])


def test_window_cursors_round_trip() -> None:
    window = Window(start=datetime(2024, 2, 1, tzinfo=UTC), end=datetime(2024, 3, 2, tzinfo=UTC))
    assert window.cursor_after(12) == Cursor(value="2024-02-01T00:00:00Z", slice="12")
    assert window.cursor_done() == Cursor(value="2024-03-02T00:00:00Z")
    assert from_iso(to_iso(window.end)) == window.end


def test_a_cursor_in_the_future_yields_one_empty_window_not_a_negative_one() -> None:
    [window] = plan_windows(Cursor(value="2030-01-01T00:00:00Z"), **PLAN)
    assert window.start == window.end == NOW - timedelta(minutes=1)


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("10m", 600), ("1h", 3600), ("30d", 2_592_000), ("2w", 1_209_600), (45, 45),
    ("PT10M", 600),
])
def test_durations_read_as_people_write_them(text: object, seconds: int) -> None:
    settings = ApiSourceSettings(name="x", lookback=text)
    assert settings.lookback == timedelta(seconds=seconds)
    assert parse_duration(text) in (timedelta(seconds=seconds), text)


def test_bad_durations_name_the_field() -> None:
    with pytest.raises(ValidationError, match="lookback"):
        ApiSourceSettings(name="x", lookback="ten minutes")
    with pytest.raises(ValidationError, match="backfill_slice"):
        ApiSourceSettings(name="x", backfill_slice="5m")


def test_secret_env_names_are_derived_from_the_source_name() -> None:
    assert secret_env_name("cw-main", "private_key") == "FIXEDIT_CW_MAIN_PRIVATE_KEY"
    assert secret_env_name("halo.prod", "client_secret") == "FIXEDIT_HALO_PROD_CLIENT_SECRET"


def test_first_start_defaults_to_three_years_back_and_reads_dates_as_utc() -> None:
    assert ApiSourceSettings(name="x").first_start(NOW) == NOW - timedelta(days=3 * 365)
    dated = ApiSourceSettings(name="x", start_date="2023-04-01")
    assert dated.first_start(NOW) == datetime(2023, 4, 1, tzinfo=UTC)
