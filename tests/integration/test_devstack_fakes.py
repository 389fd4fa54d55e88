"""``python -m devstack --fake-brokers``: the credentials bodies it prints are accepted as they are,
and the connection route says each fake account is connected (ports 0 here: tests run side by side)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from devstack import fakes
from devstack.__main__ import _parse
from tests.pipeline import Pipeline
from tradecopier.brokers.registry import clear_cache


@pytest.fixture
def brokers() -> Iterator[fakes.FakeBrokers]:
    clear_cache()
    running = fakes.FakeBrokers(projectx_port=0, tradovate_port=0, tradovate_ws_port=0)
    running.start()
    yield running
    running.stop()
    clear_cache()


def test_the_printed_bodies_connect(pipeline: Pipeline, brokers: fakes.FakeBrokers) -> None:
    summary = brokers.summary()
    for broker, account_id in (("projectx", "PX-1"), ("tradovate", "TV-1")):
        body = brokers.credentials[broker]
        assert json.dumps(body) in summary  # ready to paste
        assert pipeline.call("PUT", f"/accounts/{account_id}/credentials", body).status == 200
        connection = pipeline.call("GET", f"/accounts/{account_id}/connection").body
        assert connection["status"] == "connected" and connection["broker"] == broker, connection


def test_the_flag_and_fixed_ports() -> None:
    assert _parse(["--fake-brokers"]).fake_brokers and not _parse([]).fake_brokers
    assert len({fakes.PROJECTX_PORT, fakes.TRADOVATE_PORT, fakes.TRADOVATE_WS_PORT}) == 3
