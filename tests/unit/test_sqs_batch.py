"""The executor's FIFO partial batch response (``tradecopier.logic.sqs_batch``)."""

from __future__ import annotations

import pytest

from tradecopier.logic.sqs_batch import SqsRecord, process_fifo_batch


def _record(message_id: str, receive_count: int = 1) -> dict[str, object]:
    return {
        "messageId": message_id,
        "body": f"body-{message_id}",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q.fifo",
        "attributes": {"ApproximateReceiveCount": str(receive_count), "MessageGroupId": "g"},
    }


def test_all_records_handled_in_order_and_none_reported() -> None:
    seen: list[tuple[str, str, int]] = []

    def handle(record: SqsRecord) -> None:
        seen.append((record.body, record.event_source_arn, record.approximate_receive_count))

    result = process_fifo_batch({"Records": [_record("a", 3), _record("b")]}, handle)
    assert result == {"batchItemFailures": []}
    arn = "arn:aws:sqs:us-east-1:123456789012:q.fifo"
    assert seen == [("body-a", arn, 3), ("body-b", arn, 1)]


@pytest.mark.parametrize("failing", [0, 1, 2])
def test_first_failure_fails_it_and_every_later_record_without_handling_them(failing: int) -> None:
    ids = ["a", "b", "c"]
    handled: list[str] = []

    def handle(record: SqsRecord) -> None:
        handled.append(record.message_id)
        if record.message_id == ids[failing]:
            raise RuntimeError("boom")

    result = process_fifo_batch({"Records": [_record(i) for i in ids]}, handle)
    assert handled == ids[: failing + 1]
    assert result == {"batchItemFailures": [{"itemIdentifier": i} for i in ids[failing:]]}


def test_an_event_without_a_list_of_records_is_refused() -> None:
    with pytest.raises(ValueError, match="Records"):
        process_fifo_batch({"Records": None}, lambda record: None)
    assert process_fifo_batch({"Records": []}, lambda record: None) == {"batchItemFailures": []}
