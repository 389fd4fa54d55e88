"""Logs and metrics of a full copy: the leader event id is the correlation id of every log line
about it, from ingest to each follower's executor, and the metrics emitted are the catalogued ones."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.samples import market
from tests.pipeline import Pipeline
from tradecopier.observability import NAMESPACE, SERVICE, MetricName, logger


@pytest.fixture
def log_stream(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Everything the Powertools logger writes (its handler holds the stdout of import time)."""
    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    yield stream


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            lines.append(value)
    return lines


def test_event_id_is_the_correlation_id_from_ingest_to_every_executor_line(
    pipeline: Pipeline, log_stream: io.StringIO
) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.add_follower(group_id, "EVAL-2", multiplier=0.5)
    log_stream.truncate(0)
    log_stream.seek(0)
    event = market("L-77-new", "L-77", qty=4, side="sell", symbol="MNQZ6", price=21000)
    assert pipeline.send(group_id, token, **event).status == 202
    pipeline.deliver()
    logs = [line for line in _json_lines(log_stream.getvalue()) if "level" in line]
    accepted = [line for line in logs if line["message"] == "event accepted"]
    copies = [line for line in logs if line["message"] == "copy recorded"]
    assert [line["correlation_id"] for line in accepted] == ["L-77-new"]
    assert sorted((line["account_id"], line["status"]) for line in copies) == [
        ("EVAL-1", "placed"),
        ("EVAL-2", "placed"),
    ]
    executor_lines = [line for line in logs if line.get("account_id")]
    assert executor_lines and all(line["correlation_id"] == "L-77-new" for line in executor_lines)
    assert all(line["group_id"] == group_id for line in executor_lines)


def test_emitted_metrics_are_catalogued_with_the_service_dimension_only(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.add_follower(group_id, "EVAL-2", multiplier=0.1, rounding="floor")
    capsys.readouterr()
    pipeline.send(group_id, token, **market("E-1", "L-1", qty=1, price=100))
    pipeline.send(group_id, token, **market("E-1", "L-1", qty=1, price=100))
    pipeline.call("POST", f"/groups/{group_id}/events", {"event_id": "E-2"}, {"X-Webhook-Token": token})
    pipeline.deliver()
    emitted: dict[str, float] = {}
    for blob in _json_lines(capsys.readouterr().out):
        if "_aws" not in blob:
            continue
        [directive] = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        assert directive["Dimensions"] == [["service"]] and blob["service"] == SERVICE
        for metric in directive["Metrics"]:
            values = blob[metric["Name"]]
            emitted[metric["Name"]] = emitted.get(metric["Name"], 0) + sum(
                values if isinstance(values, list) else [values]
            )
    assert set(emitted) <= {name.value for name in MetricName}
    assert emitted[MetricName.EVENTS_ACCEPTED] == 1
    assert emitted[MetricName.EVENTS_DUPLICATE] == 1
    assert emitted[MetricName.EVENTS_REFUSED] == 1
    assert emitted[MetricName.COPIES_PLACED] == 1
    assert emitted[MetricName.COPIES_SKIPPED] == 1
    assert emitted[MetricName.COPY_LATENCY] >= 0
