"""The local stack's SQS FIFO keeps a message group in order when a failed batch times out
(devstack/motopatch.py, patch 4c): moto alone hands the *last* message of the batch back first."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs import models as sqs_models
from moto.sqs.models import sqs_backends

from devstack import motopatch

ROUNDS = 4  # moto alone fails the first round every time; each round is ~1 s of visibility timeout


def test_a_timed_out_fifo_batch_comes_back_whole_and_in_order() -> None:
    motopatch.apply()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(
            QueueName="follower.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "1"}
        )["QueueUrl"]
        for n in range(3):
            sqs.send_message(
                QueueUrl=url, MessageBody=f"E-{n}", MessageGroupId="g", MessageDeduplicationId=f"E-{n}"
            )
        queue = sqs_backends["123456789012"]["us-east-1"].get_queue("follower.fifo")
        batch = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
        assert batch == ["E-0", "E-1", "E-2"]
        seen: list[list[str]] = []
        for _ in range(ROUNDS):  # the batch failed (not deleted): it must come back whole, in order
            assert len({m.visible_at for m in queue._pending_messages}) == 1, "the batch times out together"
            again: list[Any] = []
            deadline = time.monotonic() + 5
            while not again and time.monotonic() < deadline:  # poll hard across the timeout's edge
                again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            seen.append([m["Body"] for m in again])
            assert seen[-1] == ["E-0", "E-1", "E-2"], seen


def test_a_receive_at_the_timeouts_edge_gets_the_whole_batch_or_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic form of the race above: moto's clock ticks 0.25 ms per reading and the batch
    times out at each offset in turn, so some reading inside one ReceiveMessage falls on the edge."""
    motopatch.apply()
    clock = {"ms": time.time() * 1000 + 60_000}  # ahead of the real clock: no message is delayed

    def ticking_clock() -> float:
        clock["ms"] += 0.25
        return clock["ms"]

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        backend = sqs_backends["123456789012"]["us-east-1"]
        monkeypatch.setattr(sqs_models, "unix_time_millis", ticking_clock)
        outcomes: set[tuple[str, ...]] = set()
        for offset in range(12):
            name = f"edge{offset}.fifo"
            url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
            for n in range(3):
                sqs.send_message(
                    QueueUrl=url, MessageBody=f"E-{n}", MessageGroupId="g", MessageDeduplicationId=f"E-{n}"
                )
            assert [m.body for m in backend.receive_message(name, 10, 0, 30)] == ["E-0", "E-1", "E-2"]
            queue = backend.get_queue(name)
            for m in queue._pending_messages:  # the failed batch times out `offset` quarter-ms from now
                m.visible_at = clock["ms"] + offset * 0.25
            got = tuple(m.body for m in backend.receive_message(name, 10, 0, 30))
            if not got:  # before the edge: nothing yet, and the whole batch once past it
                clock["ms"] += 10
                got = tuple(m.body for m in backend.receive_message(name, 10, 0, 30))
            outcomes.add(got)
        assert outcomes == {("E-0", "E-1", "E-2")}
