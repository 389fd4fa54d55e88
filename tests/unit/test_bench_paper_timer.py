"""bench.awscalls' paper store timer: the CPU inside the paper broker's store calls, once per
outermost call, without the HTTP send (what bench.overhead subtracts for "excluding paper")."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bench import awscalls
from tradecopier.brokers.paper import store as store_module
from tradecopier.brokers.paper.store import PaperStore


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


class _Client:
    """A DynamoDB client that burns CPU: 20 ms per call, 5 ms of it inside a pretend HTTP send."""

    def get_item(self, **_: Any) -> dict[str, Any]:
        _spin(0.015)
        send = time.process_time()
        _spin(0.005)
        awscalls.TIMERS.send_cpu += time.process_time() - send
        return {}


class _TimedStore(PaperStore):
    pass


def test_the_store_calls_cpu_is_counted_once_without_the_send(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module.aws, "client", lambda service: _Client())
    awscalls.install_paper_store_timer(_TimedStore)
    before = awscalls.TIMERS.paper_store_cpu

    # get_position calls _get: the nested call is inside the outer one, not counted again
    assert _TimedStore("paper").get_position("A-1", "NQZ6").qty == 0

    counted = awscalls.TIMERS.paper_store_cpu - before
    assert 0.014 <= counted < 0.019
    assert "_bench_timed" not in vars(PaperStore)  # the class itself is left alone
    wrapped = vars(_TimedStore)["get_position"]
    awscalls.install_paper_store_timer(_TimedStore)  # idempotent: not wrapped twice
    assert vars(_TimedStore)["get_position"] is wrapped
    assert "_query" not in vars(_TimedStore)  # a generator runs inside its consumer's call
