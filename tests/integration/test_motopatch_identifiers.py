"""moto's request ids and SQS receipt handles are drawn in one call each (devstack/motopatch.py,
patch 0c): a speed patch that must not change what they look like, that they are unique, or that
a receipt handle still deletes its message."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.moto_random import MotoRandom

from devstack import motopatch


def _queue() -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="ids.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for i in range(5):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"m{i}", MessageGroupId=f"g{i}", MessageDeduplicationId=f"d{i}"
        )
    return sqs, url


@mock_aws
def test_receipt_handles_keep_their_shape_are_unique_and_delete(monkeypatch: pytest.MonkeyPatch) -> None:
    motopatch.apply()
    sqs, url = _queue()
    calls = {"choice": 0}
    real_choice = MotoRandom.choice

    def counting_choice(self: Any, seq: Any) -> Any:
        calls["choice"] += 1
        return real_choice(self, seq)

    monkeypatch.setattr(MotoRandom, "choice", counting_choice)
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    handles = [m["ReceiptHandle"] for m in response["Messages"]]
    assert len(handles) == 5 and len(set(handles)) == 5
    assert all(re.fullmatch(r"[a-z]{185}", h) for h in handles), handles[0]
    assert re.fullmatch(r"[A-Za-z0-9]{52}", response["ResponseMetadata"]["RequestId"])
    assert calls["choice"] < 5 * 185, "a receipt handle is drawn one random.choice per letter again"
    deleted = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles)]
    )
    assert len(deleted["Successful"]) == 5
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)


def test_a_seeded_moto_random_still_draws_the_same_identifiers() -> None:
    motopatch.apply()
    from moto.sqs import models as sqs_models

    drawn = []
    for _ in range(2):
        mock_random.seed(19)
        drawn.append((sqs_models.generate_receipt_handle(), mock_random.get_random_string(length=52)))
    assert drawn[0] == drawn[1]
    assert mock_random.get_random_string(length=30, include_digits=False, lower_case=True).isalpha()
