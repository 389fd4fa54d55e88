"""The demo's own expectations (``devstack.demo``, act three): the lock it waits for lifts at the
copier's next session start, and a copy that differs is named as a problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from devstack import demo
from tradecopier.domain.risk.calendar import next_session_start


@given(st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)))
def test_next_session_start_is_the_copiers(now: datetime) -> None:
    assert demo._next_session_start(now) == next_session_start(now)


def test_next_session_start_around_the_dst_changes_and_the_opening_itself() -> None:
    opens_cdt = datetime(2026, 3, 9, 22, 0, tzinfo=UTC)  # 17:00 CDT, the day after spring forward
    assert demo._next_session_start(opens_cdt - timedelta(seconds=1)) == opens_cdt
    assert demo._next_session_start(opens_cdt) == opens_cdt + timedelta(days=1)
    assert demo._next_session_start(datetime(2026, 11, 1, 22, 30, tzinfo=UTC)) == datetime(
        2026, 11, 1, 23, 0, tzinfo=UTC
    )  # fall back: 16:30 CST that day


def test_expect_copy_names_a_wrong_qty_and_a_missing_or_extra_reason() -> None:
    problems: list[str] = []
    demo._expect_copy(
        problems, {"status": "placed", "qty": 3, "reason": "risk: max_position 3"}, "R", 3, "risk:"
    )
    assert problems == []
    demo._expect_copy(problems, {"status": "placed", "qty": 4, "reason": None}, "R", 3, "risk: max_position")
    assert problems == ["R is placed qty 4 (expected placed 3)", "R's reason is ''"]
    problems.clear()
    demo._expect_copy(problems, {"status": "placed", "qty": 4, "reason": "risk: x"}, "P", 4, "")
    demo._expect_copy(problems, None, "Q", 4, "")
    assert problems == ["P's reason is 'risk: x'", "Q has no copy"]
