"""The local stack's SQS FIFO keeps a message group in order when a failed batch times out
(devstack/motopatch.py, patch 4c): moto alone hands the *last* message of the batch back first."""

from __future__ import annotations

import time

import boto3
from moto import mock_aws
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
            again: list[dict[str, str]] = []
            deadline = time.monotonic() + 5
            while not again and time.monotonic() < deadline:  # poll hard across the timeout's edge
                again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            seen.append([m["Body"] for m in again])
            assert seen[-1] == ["E-0", "E-1", "E-2"], seen
