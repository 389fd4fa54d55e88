"""Trading sessions on the CME clock, given a clock (never ``datetime.now()``).

A session opens at 17:00 America/Chicago every day and runs until the next 17:00: CME Globex's
trading day, and the reset time of Topstep's daily loss limit. Wall-clock times in the settings are
Chicago times; every datetime handed back is timezone-aware UTC, which is what the state stores.
17:00 never falls in a DST gap or fold (those are at 02:00), so a session start is always one
well-defined instant: 23:00 UTC in winter (CST), 22:00 UTC in summer (CDT).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")
SESSION_OPENS = time(17, 0)


def chicago_time(now: datetime) -> datetime:
    """``now`` on the Chicago wall clock. A naive datetime is refused: its zone would be a guess."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"the clock must be timezone-aware, got {now.isoformat()}")
    return now.astimezone(CHICAGO)


def _opening_day(now: datetime) -> date:
    """The Chicago calendar date on which the session holding ``now`` opened."""
    local = chicago_time(now)
    return local.date() if local.time() >= SESSION_OPENS else local.date() - timedelta(days=1)


def _at_chicago(day: date, wall: time) -> datetime:
    """``wall`` on ``day`` in Chicago, as UTC. A wall time inside the spring-forward gap (02:00–02:59
    on the second Sunday of March) resolves to the instant one hour later on the clock (fold=0)."""
    return datetime.combine(day, wall, tzinfo=CHICAGO).astimezone(UTC)


def session_start(now: datetime) -> datetime:
    """The latest 17:00 Chicago at or before ``now`` (the start of the session ``now`` is in)."""
    return _at_chicago(_opening_day(now), SESSION_OPENS)


def next_session_start(now: datetime) -> datetime:
    """The first 17:00 Chicago strictly after ``now``: when a daily lock lifts."""
    return _at_chicago(_opening_day(now) + timedelta(days=1), SESSION_OPENS)


def trading_day(now: datetime) -> date:
    """The trading day ``now`` belongs to, as exchanges and prop firms name it: the session that
    opens Sunday 17:00 is Monday's."""
    return _opening_day(now) + timedelta(days=1)


def in_window(start: time, end: time, now: datetime) -> bool:
    """Whether the Chicago wall-clock time of ``now`` is inside ``[start, end)``.

    ``start`` is inclusive and ``end`` exclusive, so 08:30–15:00 admits 08:30:00 and 14:59:59 but
    not 15:00:00, and two windows that meet (08:30–12:00, 12:00–15:00) never overlap. A window whose
    start is after its end crosses midnight: 18:00–03:00 admits 18:00 … 23:59 and 00:00 … 02:59.
    ``start == end`` is refused by the settings; here it would be an empty window.
    """
    wall = chicago_time(now).time()
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end


def flat_by_moment(flat_by: time, now: datetime) -> datetime:
    """The instant, within the session holding ``now``, at which the clock in Chicago reads
    ``flat_by``: the next day's afternoon for 15:08, the same evening for a time after 17:00."""
    opened = _opening_day(now)
    day = opened if flat_by >= SESSION_OPENS else opened + timedelta(days=1)
    return _at_chicago(day, flat_by)


def flat_by_due(flat_by: time, now: datetime, last_checked: datetime | None) -> bool:
    """Whether flat-by fires at this check: its moment in the current session lies in
    ``(last_checked, now]``.

    A scheduler that runs about once a minute passes the time of its previous check for this
    follower (``None`` if there was none, which counts as "never checked this session"). A skipped
    or late run still fires, at the first check after the moment; a check after one that already
    covered the moment does not fire again, so it fires once per trading day. A follower set up
    after flat-by passed fires at its first check: it should not hold positions until the next
    session either.
    """
    moment = flat_by_moment(flat_by, now)
    if now < moment:
        return False
    return last_checked is None or last_checked < moment
