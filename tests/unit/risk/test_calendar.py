"""Sessions open at 17:00 Chicago, DST-correct; windows and flat-by on the Chicago wall clock."""

from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from tradecopier.domain.risk.calendar import (
    flat_by_due,
    flat_by_moment,
    in_window,
    next_session_start,
    session_start,
    trading_day,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "start", "following"),
    [
        # winter, CST = UTC-6: 17:00 CT is 23:00 UTC
        ("2026-01-14 22:59", "2026-01-13 23:00", "2026-01-14 23:00"),
        ("2026-01-14 23:00", "2026-01-14 23:00", "2026-01-15 23:00"),  # the start itself is inside
        ("2026-01-15 05:00", "2026-01-14 23:00", "2026-01-15 23:00"),  # after midnight UTC
        # summer, CDT = UTC-5: 17:00 CT is 22:00 UTC
        ("2026-07-01 21:59", "2026-06-30 22:00", "2026-07-01 22:00"),
        ("2026-07-01 22:00", "2026-07-01 22:00", "2026-07-02 22:00"),
        # spring forward, Sun 2026-03-08 02:00 CST → 03:00 CDT: Saturday's session opened in CST,
        # Sunday's opens in CDT, so that session lasts 23 hours
        ("2026-03-08 08:30", "2026-03-07 23:00", "2026-03-08 22:00"),
        ("2026-03-08 21:59", "2026-03-07 23:00", "2026-03-08 22:00"),
        ("2026-03-08 22:00", "2026-03-08 22:00", "2026-03-09 22:00"),
        # fall back, Sun 2026-11-01 02:00 CDT → 01:00 CST: that session lasts 25 hours
        ("2026-11-01 06:30", "2026-10-31 22:00", "2026-11-01 23:00"),  # 01:30 CST, after the fold
        ("2026-11-01 22:30", "2026-10-31 22:00", "2026-11-01 23:00"),  # 16:30 CST
        ("2026-11-01 23:00", "2026-11-01 23:00", "2026-11-02 23:00"),
    ],
)
def test_session_starts_at_five_pm_chicago_in_both_dst_seasons(now: str, start: str, following: str) -> None:
    assert session_start(utc(now)) == utc(start)
    assert next_session_start(utc(now)) == utc(following)
    assert session_start(utc(now)).tzinfo is UTC


def test_session_start_accepts_any_aware_zone() -> None:
    tokyo = datetime(2026, 1, 15, 8, 0, tzinfo=timezone(timedelta(hours=9)))  # 2026-01-14 23:00 UTC
    assert session_start(tokyo) == utc("2026-01-14 23:00")


def test_naive_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        session_start(datetime(2026, 1, 14, 12, 0))


@pytest.mark.parametrize(
    ("now", "day"),
    [
        ("2026-11-29 22:59", "2026-11-29"),  # Sunday 16:59: Saturday's session (every day has one)
        ("2026-11-29 23:00", "2026-11-30"),  # Sunday 17:00 CST belongs to Monday
        ("2026-11-30 15:00", "2026-11-30"),
    ],
)
def test_trading_day_names_the_day_a_session_closes(now: str, day: str) -> None:
    assert trading_day(utc(now)).isoformat() == day


HOURS = (time(8, 30), time(15, 0))
NIGHT = (time(18, 0), time(3, 0))


@pytest.mark.parametrize(
    ("window", "now", "inside"),
    [
        (HOURS, "2026-01-14 14:29", False),  # 08:29 CST
        (HOURS, "2026-01-14 14:30", True),  # 08:30 CST: start is inclusive
        (HOURS, "2026-01-14 20:59:59", True),  # 14:59:59
        (HOURS, "2026-01-14 21:00", False),  # 15:00 exactly: end is exclusive
        (HOURS, "2026-07-01 13:30", True),  # 08:30 CDT
        (HOURS, "2026-07-01 20:00", False),  # 15:00 CDT
        (NIGHT, "2026-01-15 08:59", True),  # 02:59 CST, after midnight
        (NIGHT, "2026-01-15 09:00", False),  # 03:00 CST: end is exclusive
        (NIGHT, "2026-01-15 00:00", True),  # 18:00 CST: start is inclusive
        (NIGHT, "2026-01-14 23:59", False),  # 17:59 CST
        (NIGHT, "2026-01-15 06:00", True),  # midnight CST
        (NIGHT, "2026-01-14 18:00", False),  # noon
        # 02:30 does not exist on 2026-03-08; 03:00 CDT is the first minute after the gap
        (NIGHT, "2026-03-08 07:59", True),  # 01:59 CST
        (NIGHT, "2026-03-08 08:00", False),  # 03:00 CDT
        # the fold on 2026-11-01: 01:30 happens twice, inside both times
        (NIGHT, "2026-11-01 06:30", True),
        (NIGHT, "2026-11-01 07:30", True),
    ],
)
def test_in_window_on_the_chicago_clock(window: tuple[time, time], now: str, inside: bool) -> None:
    assert in_window(*window, utc(now)) is inside


@pytest.mark.parametrize(
    ("flat_by", "now", "moment"),
    [
        (time(15, 8), "2026-01-14 12:00", "2026-01-14 21:08"),  # CST
        (time(15, 8), "2026-01-14 23:30", "2026-01-15 21:08"),  # evening: tomorrow's afternoon
        (time(15, 8), "2026-07-01 12:00", "2026-07-01 20:08"),  # CDT
        (time(15, 8), "2026-03-08 12:00", "2026-03-08 20:08"),  # spring forward: CDT that afternoon
        (time(15, 8), "2026-11-01 12:00", "2026-11-01 21:08"),  # fall back: CST that afternoon
        (time(18, 0), "2026-01-14 23:30", "2026-01-15 00:00"),  # after the open: the same evening
        (time(2, 30), "2026-03-08 05:00", "2026-03-08 08:30"),  # in the gap: 03:30 CDT
    ],
)
def test_flat_by_moment_is_inside_the_current_session(flat_by: time, now: str, moment: str) -> None:
    assert flat_by_moment(flat_by, utc(now)) == utc(moment)
    assert session_start(utc(now)) <= utc(moment) < next_session_start(utc(now))


FLAT_BY = time(15, 8)  # 21:08 UTC in January


@pytest.mark.parametrize(
    ("last_checked", "now", "due"),
    [
        ("2026-01-14 21:07", "2026-01-14 21:07:30", False),  # not yet
        ("2026-01-14 21:07", "2026-01-14 21:08", True),  # the minute itself
        ("2026-01-14 21:06", "2026-01-14 21:09", True),  # a skipped minute still fires
        ("2026-01-14 21:08", "2026-01-14 21:09", False),  # already fired at 21:08
        ("2026-01-14 21:09", "2026-01-14 22:59", False),  # the rest of the session
        ("2026-01-13 21:10", "2026-01-14 21:30", True),  # the scheduler was down for a day
        ("2026-01-14 21:09", "2026-01-14 23:01", False),  # the next session, before its moment
        (None, "2026-01-14 21:30", True),  # never checked: fires, the session is past flat-by
        (None, "2026-01-14 20:00", False),
    ],
)
def test_flat_by_fires_once_per_trading_day(last_checked: str | None, now: str, due: bool) -> None:
    checked = utc(last_checked) if last_checked else None
    assert flat_by_due(FLAT_BY, utc(now), checked) is due


def test_a_minute_by_minute_scheduler_fires_flat_by_once_a_day_even_skipping_minutes() -> None:
    skipped = {utc("2026-03-09 20:08"), utc("2026-03-09 20:07")}  # lost or late scheduler runs
    fired: list[datetime] = []
    last: datetime | None = None
    now = utc("2026-03-06 12:00")  # Friday, through the spring-forward weekend, into Tuesday
    while now < utc("2026-03-10 12:00"):
        if now not in skipped:
            if flat_by_due(FLAT_BY, now, last):
                fired.append(now)
            last = now
        now += timedelta(minutes=1)
    assert [moment.isoformat() for moment in fired] == [
        "2026-03-06T21:08:00+00:00",
        "2026-03-07T21:08:00+00:00",  # 15:08 CST on Saturday
        "2026-03-08T20:08:00+00:00",  # 15:08 CDT on the switch day
        "2026-03-09T20:09:00+00:00",  # 20:08 was skipped: the next run fires
    ]
