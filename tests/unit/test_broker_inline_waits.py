"""Tradovate's penalty (``p-ticket`` + ``p-time``, HTTP 200, not applied) is waited out inline only
as far as the caller allows: in the executor ``Delivery.may_wait_inline`` (≤ 2 s, and what is left of
the Lambda invocation after the wait keeps a reserve), elsewhere the adapter's own limit (3 s).
A wait it may not take raises ``BrokerBusy`` carrying the broker's wait, without sleeping and
without resending: the executor defers the copy that long (``CopyDeferred``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.test_decide import accepted
from tradecopier.brokers import base
from tradecopier.brokers.http import BrokerBusy, HttpReply
from tradecopier.brokers.tradovate import http as tradovate_http
from tradecopier.brokers.tradovate.config import MAX_INLINE_PENALTY_S
from tradecopier.logic.executor import INLINE_WAIT_MAX_S, INLINE_WAIT_RESERVE_S, Delivery


class _Broker:
    """Answers each request with the next reply; records what was sent."""

    def __init__(self, *bodies: Any) -> None:
        self.bodies = list(bodies)
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, url: str, *, body: Any = None, **_: Any) -> HttpReply:
        self.sent.append({"method": method, "url": url, "body": body})
        return HttpReply(200, self.bodies.pop(0), {})


def _http(
    monkeypatch: pytest.MonkeyPatch, *bodies: Any
) -> tuple[tradovate_http.TradovateHttp, _Broker, list[float]]:
    broker, slept = _Broker(*bodies), []
    monkeypatch.setattr(tradovate_http.transport, "request", broker.request)
    http = tradovate_http.TradovateHttp(
        "http://tradovate.invalid/v1",
        tokens=None,
        sleep=slept.append,  # type: ignore[arg-type]
    )
    return http, broker, slept


def _penalty(seconds: float) -> dict[str, Any]:
    return {"p-ticket": "T-1", "p-time": seconds}


def _delivery(remaining_s: float) -> Delivery:
    return Delivery("g-1", "TV-1", accepted(), attempt=1, max_attempts=5, remaining_s=lambda: remaining_s)


PLACED = {"orderId": 7}


def test_without_an_allowance_a_short_penalty_is_waited_out_and_resent_with_the_ticket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http, broker, slept = _http(monkeypatch, _penalty(3), PLACED)
    reply = http.exchange("POST", "order/placeorder", body={"orderQty": 2})
    assert reply.body == PLACED and slept == [3.0]
    assert [s["body"] for s in broker.sent] == [{"orderQty": 2}, {"orderQty": 2, "p-ticket": "T-1"}]


def test_a_penalty_past_the_adapters_own_limit_is_raised_with_its_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    http, broker, slept = _http(monkeypatch, _penalty(MAX_INLINE_PENALTY_S + 1))
    with pytest.raises(BrokerBusy) as raised:
        http.exchange("POST", "order/placeorder", body={"orderQty": 2})
    assert raised.value.retry_after == MAX_INLINE_PENALTY_S + 1 and slept == [] and len(broker.sent) == 1


@pytest.mark.parametrize(
    ("p_time", "remaining_s"),
    [
        (3, 60.0),  # within the adapter's 3 s, past the executor's 2 s
        (2, INLINE_WAIT_RESERVE_S + 1.9),  # short, but the invocation cannot afford it
        (1, 0.5),  # the invocation is nearly over
    ],
)
def test_in_the_executor_a_wait_it_cannot_afford_is_not_slept_but_raised(
    monkeypatch: pytest.MonkeyPatch, p_time: float, remaining_s: float
) -> None:
    http, broker, slept = _http(monkeypatch, _penalty(p_time), PLACED)
    with base.inline_waits(_delivery(remaining_s).may_wait_inline), pytest.raises(BrokerBusy) as raised:
        http.exchange("POST", "order/placeorder", body={"orderQty": 2})
    assert raised.value.retry_after == p_time
    assert slept == [] and len(broker.sent) == 1  # not resent: the copy is deferred that long


def test_in_the_executor_a_wait_it_can_afford_is_slept_and_resent(monkeypatch: pytest.MonkeyPatch) -> None:
    http, broker, slept = _http(monkeypatch, _penalty(INLINE_WAIT_MAX_S), PLACED)
    with base.inline_waits(_delivery(INLINE_WAIT_MAX_S + INLINE_WAIT_RESERVE_S).may_wait_inline):
        assert http.exchange("POST", "order/placeorder", body={"orderQty": 2}).body == PLACED
    assert slept == [INLINE_WAIT_MAX_S] and broker.sent[-1]["body"]["p-ticket"] == "T-1"


def test_each_penalty_in_a_row_is_checked_against_the_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second penalty after the resend is a second wait: allowed only if the time left still is."""
    left = [INLINE_WAIT_RESERVE_S + 1.5]
    http, broker, slept = _http(monkeypatch, _penalty(1), _penalty(1), PLACED)

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        left[0] -= seconds

    http._sleep = sleep
    delivery = Delivery("g-1", "TV-1", accepted(), 1, 5, remaining_s=lambda: left[0])
    with base.inline_waits(delivery.may_wait_inline), pytest.raises(BrokerBusy):
        http.exchange("GET", "order/list")
    assert slept == [1.0] and len(broker.sent) == 2


def test_the_allowance_ends_with_its_block(monkeypatch: pytest.MonkeyPatch) -> None:
    with base.inline_waits(lambda seconds: False):
        assert not base.may_wait_inline(0.5, MAX_INLINE_PENALTY_S)
    assert base.may_wait_inline(0.5, MAX_INLINE_PENALTY_S)
    assert not base.may_wait_inline(-1, MAX_INLINE_PENALTY_S)
    http, _, slept = _http(monkeypatch, _penalty(3), PLACED)
    http.exchange("GET", "order/list")
    assert slept == [3.0]


def test_a_deferred_request_comes_back_with_its_ticket(monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy deferred on a penalty is resent, identical, with the ticket (§4.2): no new penalty."""
    http, broker, slept = _http(monkeypatch, _penalty(5), PLACED, PLACED)
    with pytest.raises(BrokerBusy):
        http.exchange("POST", "order/placeorder", body={"orderQty": 2, "clOrdId": "c-1"})
    assert http.exchange("POST", "order/placeorder", body={"orderQty": 2, "clOrdId": "c-1"}).body == PLACED
    assert broker.sent[1]["body"] == {"orderQty": 2, "clOrdId": "c-1", "p-ticket": "T-1"}
    http.exchange("POST", "order/placeorder", body={"orderQty": 2, "clOrdId": "c-1"})  # once only
    assert broker.sent[2]["body"] == {"orderQty": 2, "clOrdId": "c-1"} and slept == []


def test_a_ticket_is_not_sent_with_another_request(monkeypatch: pytest.MonkeyPatch) -> None:
    http, broker, _ = _http(monkeypatch, _penalty(5), PLACED, PLACED)
    with pytest.raises(BrokerBusy):
        http.exchange("POST", "order/placeorder", body={"orderQty": 2, "clOrdId": "c-1"})
    http.exchange("POST", "order/placeorder", body={"orderQty": 1, "clOrdId": "c-2"})
    http.exchange("GET", "order/list")
    assert all("p-ticket" not in (s["body"] or {}) and "p-ticket" not in s["url"] for s in broker.sent[1:])


def test_a_deferred_get_comes_back_with_its_ticket_as_a_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    http, broker, _ = _http(monkeypatch, _penalty(5), [])
    with pytest.raises(BrokerBusy):
        http.exchange("GET", "orderVersion/list")
    http.exchange("GET", "orderVersion/list")
    assert broker.sent[1]["url"].endswith("orderVersion/list?p-ticket=T-1")
