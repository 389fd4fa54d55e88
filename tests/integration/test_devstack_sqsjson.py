"""The mapping pollers' SQS client (devstack/sqsjson.py) gets from the local stack's moto server
what botocore's SQS client gets: the same messages in the same shape (so the same Lambda event),
the same error codes, deletes that delete."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.motoserver import MotoServer
from devstack.samples import sqs_record
from devstack.sqsjson import SqsJsonClient

REGION = "us-east-1"
RECEIVE = {
    "MaxNumberOfMessages": 10,
    "WaitTimeSeconds": 0,
    "AttributeNames": ["All"],
    "MessageSystemAttributeNames": ["All"],
    "MessageAttributeNames": ["All"],
}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = MotoServer("127.0.0.1")
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def _clients(endpoint: str) -> tuple[Any, SqsJsonClient]:
    boto = boto3.client(
        "sqs", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="local", aws_secret_access_key="x"
    )
    return boto, SqsJsonClient(endpoint, REGION, access_key="local", read_timeout=10)


def _send(boto: Any, url: str, i: int) -> None:
    boto.send_message(
        QueueUrl=url,
        MessageBody=f'{{"n": {i}}}',
        MessageGroupId="g",
        MessageDeduplicationId=f"d{i}",
        MessageAttributes={
            "event_id": {"DataType": "String", "StringValue": f"e{i}"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )


def _normalised(record: dict[str, Any]) -> dict[str, Any]:
    """A record with what differs per message (ids, times, handles, bodies) blanked."""
    out = dict(record, messageId="", receiptHandle="", body="", md5OfBody="", md5OfMessageAttributes="")
    out["attributes"] = {k: type(v).__name__ for k, v in record["attributes"].items()}
    out["messageAttributes"] = {
        k: {**v, "stringValue": type(v.get("stringValue")).__name__}
        for k, v in record["messageAttributes"].items()
    }
    return out


def test_messages_come_back_as_botocore_gets_them_and_delete(endpoint: str) -> None:
    boto, light = _clients(endpoint)
    url = boto.create_queue(QueueName="light-a.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = "arn:aws:sqs:us-east-1:123456789012:light-a.fifo"
    assert (
        light.get_queue_url(QueueName="light-a.fifo", QueueOwnerAWSAccountId="123456789012")["QueueUrl"]
        == url
    )
    _send(boto, url, 1)
    via_boto = boto.receive_message(QueueUrl=url, VisibilityTimeout=0, **RECEIVE)["Messages"]
    via_light = light.receive_message(QueueUrl=url, **RECEIVE)["Messages"]
    assert [m["MessageId"] for m in via_light] == [m["MessageId"] for m in via_boto]
    assert (
        via_light[0]["Body"] == via_boto[0]["Body"] and via_light[0]["MD5OfBody"] == via_boto[0]["MD5OfBody"]
    )
    ours, theirs = sqs_record(via_light[0], arn, REGION), sqs_record(via_boto[0], arn, REGION)
    assert ours["messageAttributes"] == theirs["messageAttributes"]  # binary re-encoded alike
    assert _normalised(ours) == _normalised(theirs)
    assert set(ours["attributes"]) == set(theirs["attributes"]) >= {"MessageGroupId", "SequenceNumber"}
    deleted = light.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": via_light[0]["ReceiptHandle"]}]
    )
    assert [d["Id"] for d in deleted["Successful"]] == ["0"] and not deleted.get("Failed")
    assert "Messages" not in boto.receive_message(QueueUrl=url, **RECEIVE)


def test_errors_carry_botocores_error_codes(endpoint: str) -> None:
    boto, light = _clients(endpoint)
    codes = []
    for client in (boto, light):
        with pytest.raises(ClientError) as caught:
            client.get_queue_url(QueueName="no-such-queue.fifo", QueueOwnerAWSAccountId="123456789012")
        codes.append(caught.value.response["Error"]["Code"])
    assert codes[0] == codes[1] and "NonExistentQueue" in codes[1]


def test_tags_and_long_polls_work_over_one_kept_connection(endpoint: str) -> None:
    boto, light = _clients(endpoint)
    url = boto.create_queue(
        QueueName="light-b.fifo", Attributes={"FifoQueue": "true"}, tags={"copier:account": "F-1"}
    )["QueueUrl"]
    assert light.list_queue_tags(QueueUrl=url)["Tags"] == {"copier:account": "F-1"}
    conn = light._connection()
    assert "Messages" not in light.receive_message(QueueUrl=url, **{**RECEIVE, "WaitTimeSeconds": 1})
    _send(boto, url, 2)
    assert len(light.receive_message(QueueUrl=url, **RECEIVE)["Messages"]) == 1
    assert light._connection() is conn and conn.sock is not None
