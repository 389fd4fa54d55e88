"""The wait a broker asks for, honoured by the executor (the fakes' 429 / penalty knobs, through the
whole pipeline, a healthy paper follower alongside every time):

- a short wait (≤ 2 s, within the invocation's time) is slept once and the copy tried again in the
  same invocation: attempt 1, one order;
- a longer one makes the message come back no earlier than asked (ChangeMessageVisibility on the
  follower queue, whose own visibility timeout is 1 s here), the follower stays active and its
  connection is not called unreachable; the next delivery places the one order;
- still busy on the last attempt: the follower is locked with the broker's words.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from devstack import samples
from devstack.brokers.projectx import FakeProjectX
from devstack.brokers.tradovate import FakeTradovate
from tests.integration import test_projectx_faults as px
from tests.integration import test_tradovate_faults as tv
from tests.integration.test_broker_conformance import projectx_orders
from tests.integration.test_tradovate_faults import HEALTHY, copy_once, follower
from tests.pipeline import Pipeline

fake_projectx = px.fake
fake_tradovate = tv.fake


@pytest.fixture
def projectx(fake_projectx: FakeProjectX) -> Iterator[FakeProjectX]:
    yield fake_projectx


def _hidden_for(pipeline: Pipeline, queue_url: str, seconds: float) -> bool:
    """True when the queue's message stays invisible for ``seconds`` (longer than its own 1 s)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        attributes = pipeline.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attributes["ApproximateNumberOfMessages"]):
            return False
        time.sleep(0.2)
    return True


def _queue_of(pipeline: Pipeline, account_id: str) -> str:
    for url, _ in pipeline.follower_queues():
        tags = pipeline.sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        if tags.get("copier:account") == account_id:
            return url
    raise AssertionError(f"no queue for {account_id}")


def test_a_short_wait_is_slept_once_in_the_invocation(pipeline: Pipeline, projectx: FakeProjectX) -> None:
    group_id, token, symbol = px.setup_group(pipeline, projectx)
    projectx.fail_next(px.PLACE, "rate_limit", retry_after=1)
    started = time.monotonic()
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[px.PX]["status"] == "placed" and copies[px.PX]["attempts"] == 1, copies[px.PX]
    assert time.monotonic() - started >= 1.0
    assert len(projectx_orders(projectx)) == 1 and pipeline.positions(px.PX) == {symbol: 2}


def test_a_long_wait_brings_the_message_back_no_earlier_than_asked(
    pipeline: Pipeline, projectx: FakeProjectX
) -> None:
    group_id, token, symbol = px.setup_group(pipeline, projectx)
    projectx.fail_next(px.PLACE, "rate_limit", retry_after=4)
    event = samples.market("E-1", "L-1", symbol=symbol)
    assert pipeline.send(group_id, token, **event).status == 202
    pipeline.deliver_once()
    copies = pipeline.copies(group_id, "E-1")
    assert copies[HEALTHY]["status"] == "placed", copies[HEALTHY]
    assert "status" not in copies[px.PX] or copies[px.PX]["status"] == "pending", copies[px.PX]
    state = follower(pipeline, group_id, px.PX)
    assert state["state"] == "active", state
    assert (state.get("connection") or {}).get("status") != "unreachable", state
    assert _hidden_for(pipeline, _queue_of(pipeline, px.PX), 3.0)  # the queue's own timeout is 1 s
    pipeline.deliver()
    copies = pipeline.copies(group_id, "E-1")
    assert copies[px.PX]["status"] == "placed" and copies[px.PX]["attempts"] == 2, copies[px.PX]
    assert len(projectx_orders(projectx)) == 1 and pipeline.positions(px.PX) == {symbol: 2}


def test_a_tradovate_penalty_longer_than_inline_defers_the_copy(
    pipeline: Pipeline, fake_tradovate: FakeTradovate
) -> None:
    group_id, token, symbol = tv.setup_group(pipeline, fake_tradovate)
    fake_tradovate.fail_next("order/placeorder", "penalty", p_time=5)  # the adapter waits ≤ 3 s inline
    event = samples.market("E-1", "L-1", symbol=symbol)
    assert pipeline.send(group_id, token, **event).status == 202
    pipeline.deliver_once()
    assert follower(pipeline, group_id, tv.TV)["state"] == "active"
    assert _hidden_for(pipeline, _queue_of(pipeline, tv.TV), 3.5)
    pipeline.deliver()
    copies = pipeline.copies(group_id, "E-1")
    assert copies[HEALTHY]["status"] == "placed", copies[HEALTHY]
    assert copies[tv.TV]["status"] == "placed" and copies[tv.TV]["attempts"] == 2, copies[tv.TV]
    assert len(tv.fake_orders(fake_tradovate)) == 1 and pipeline.positions(tv.TV) == {symbol: 2}


def test_a_tradovate_penalty_the_adapter_could_wait_but_the_executor_may_not_defers_the_copy(
    pipeline: Pipeline, fake_tradovate: FakeTradovate
) -> None:
    """3 s is within the adapter's own limit (3 s) but past the executor's inline limit (2 s): the
    executor's allowance holds the adapter to 2 s, so the copy is deferred, not slept inline."""
    group_id, token, symbol = tv.setup_group(pipeline, fake_tradovate)
    fake_tradovate.fail_next("order/placeorder", "penalty", p_time=3)
    event = samples.market("E-1", "L-1", symbol=symbol)
    assert pipeline.send(group_id, token, **event).status == 202
    pipeline.deliver_once()  # before: the adapter slept 3 s here and placed it on attempt 1
    copies = pipeline.copies(group_id, "E-1")
    assert "status" not in copies[tv.TV] or copies[tv.TV]["status"] == "pending", copies[tv.TV]
    assert "penalty ticket" in copies[tv.TV]["reason"], copies[tv.TV]
    assert _hidden_for(pipeline, _queue_of(pipeline, tv.TV), 2.0)  # the queue's own timeout is 1 s
    pipeline.deliver()
    copies = pipeline.copies(group_id, "E-1")
    assert copies[tv.TV]["status"] == "placed" and copies[tv.TV]["attempts"] == 2, copies[tv.TV]
    assert len(tv.fake_orders(fake_tradovate)) == 1 and pipeline.positions(tv.TV) == {symbol: 2}


def test_busy_past_the_last_attempt_locks_the_follower(pipeline: Pipeline, projectx: FakeProjectX) -> None:
    group_id, token, symbol = px.setup_group(pipeline, projectx)
    projectx.fail_next(px.PLACE, "rate_limit", retry_after=1, count=6)  # 3 attempts, each waits once
    copies = copy_once(pipeline, group_id, token, samples.market("E-1", "L-1", symbol=symbol))
    assert copies[px.PX]["status"] == "failed" and copies[px.PX]["attempts"] == 3, copies[px.PX]
    state = follower(pipeline, group_id, px.PX)
    assert state["state"] == "locked" and "rate limited" in state["lock_reason"], state
    assert projectx_orders(projectx) == []
