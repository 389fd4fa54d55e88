"""The executor's SQS FIFO partial batch response, without Powertools' batch utility.

Same contract as Powertools' ``SqsFifoPartialProcessor`` (``raise_on_entire_batch_failure=False``),
which the executor used before: records are handled in order; the first one that raises fails
itself and every record after it (so a later event never overtakes an earlier one of the same
follower); the answer names the failed records by ``messageId`` in ``batchItemFailures`` (empty when
all succeeded), and a fully failed batch is reported item by item like a partial one.

Why not Powertools: importing ``aws_lambda_powertools.utilities.batch`` imports every event source
data class and asyncio (tens of ms of every executor cold start, see ``bench/imports.py``) for the
twenty lines below. ``SqsRecord`` is the read-only view of a record the copy needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from tradecopier.observability import logger


class ItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


class SqsRecord:
    """One record of a Lambda SQS event: the fields the executor reads."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self._raw = raw

    @property
    def message_id(self) -> str:
        return str(self._raw["messageId"])

    @property
    def body(self) -> str:
        return str(self._raw["body"])

    @property
    def receipt_handle(self) -> str:
        return str(self._raw["receiptHandle"])

    @property
    def event_source_arn(self) -> str:
        return str(self._raw["eventSourceARN"])

    @property
    def approximate_receive_count(self) -> int:
        return int(self._raw["attributes"]["ApproximateReceiveCount"])

    def string_attribute(self, name: str) -> str | None:
        """A message attribute's ``stringValue`` (Lambda's record spelling), None when absent."""
        attribute = (self._raw.get("messageAttributes") or {}).get(name) or {}
        value = attribute.get("stringValue")
        return None if value is None else str(value)


def process_fifo_batch(event: Mapping[str, Any], handle: Callable[[SqsRecord], None]) -> BatchResponse:
    """Handles the event's records in order; stops at the first failure (it and the rest fail)."""
    records = event.get("Records")
    if not isinstance(records, list):
        raise ValueError("Invalid event format: an SQS event has a list of Records")
    failures: list[ItemFailure] = []
    for raw in records:
        record = SqsRecord(raw)
        if failures:  # a previous record of this batch failed: this one waits for the retry
            failures.append({"itemIdentifier": record.message_id})
            continue
        try:
            handle(record)
        except Exception as error:
            logger.debug("record failed; it and the rest of the batch go back to the queue", exc_info=error)
            failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}
