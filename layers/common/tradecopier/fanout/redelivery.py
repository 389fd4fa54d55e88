"""Bringing a follower-queue message back later than its visibility timeout: the wait a broker
asked for (``logic.executor.CopyDeferred``).

``ChangeMessageVisibility`` on the record's own receipt handle, counted from now: the message is
invisible for ``seconds`` (rounded up, at most SQS's 12 hours) and, its queue being FIFO with one
message group, nothing after it on that follower is delivered meanwhile. Lambda's event source
mapping leaves a failed record's visibility alone, so the call is what decides when it returns.
The queue URL is built from the record's ``eventSourceARN`` (no ``GetQueueUrl`` call, no extra
IAM): the executor may change visibility on the follower queues only (template.yaml).
Imported only when a copy is deferred: the executor's cold start does not pay for it.
"""

from __future__ import annotations

import math

from tradecopier.aws import client
from tradecopier.observability import logger

MAX_VISIBILITY_S = 12 * 60 * 60


def queue_url_of(queue_arn: str) -> str:
    """``arn:aws:sqs:<region>:<account>:<name>`` → the queue's URL."""
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise ValueError(f"not an SQS queue ARN: {queue_arn}")
    partition, region, account, name = parts[1], parts[3], parts[4], parts[5]
    domain = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://sqs.{region}.{domain}/{account}/{name}"


def visibility_for(seconds: float) -> int:
    return max(1, min(MAX_VISIBILITY_S, math.ceil(seconds)))


def come_back_after(queue_arn: str, receipt_handle: str, seconds: float) -> bool:
    """Makes the received message invisible for ``seconds`` from now. False (logged) when SQS
    refused: the message then returns after the queue's own visibility timeout, sooner than asked."""
    timeout = visibility_for(seconds)
    try:
        client("sqs").change_message_visibility(
            QueueUrl=queue_url_of(queue_arn), ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
        )
    except Exception:
        logger.exception("could not delay the message as the broker asked", extra={"wait_s": timeout})
        return False
    logger.info("message delayed as the broker asked", extra={"wait_s": timeout})
    return True
