"""Leader events: ``EVENT#{group_id}#{event_id}`` / ``EVENT``, the accepted event with its
``copies`` map (one entry per follower, keyed by account id), listed newest first through
``gsi1`` under ``EVENTS#{group_id}``; TTL ``expires_at``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tradecopier.dal.copier.errors import EventExists
from tradecopier.dal.copier.keys import INDEX, event_key, events_index_pk, events_index_sk, iso
from tradecopier.dal.copier.table import TableAccess, is_condition_failure
from tradecopier.dal.dynamodb import from_item, to_item
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import CopyStatus
from tradecopier.domain.events import AcceptedEvent


@dataclass(frozen=True, slots=True)
class StoredEvent:
    accepted: AcceptedEvent
    copies: list[CopyRecord]


_COPY_FIELDS = frozenset(CopyRecord.model_fields)


def copy_from(values: dict[str, Any]) -> CopyRecord:
    cleaned = {key: value for key, value in values.items() if value is not None and key in _COPY_FIELDS}
    for key in ("qty", "latency_ms", "attempts"):
        if key in cleaned:
            cleaned[key] = int(cleaned[key])
    return CopyRecord.model_validate(cleaned)


def copy_values(record: CopyRecord) -> dict[str, Any]:
    values = record.model_dump(mode="json", exclude_none=True)
    return values


def _stored_event_from(values: dict[str, Any]) -> StoredEvent:
    accepted = AcceptedEvent.model_validate_json(values["accepted"])
    copies = sorted(
        (copy_from(dict(copy)) for copy in values.get("copies", {}).values()),
        key=lambda copy: copy.account_id,
    )
    return StoredEvent(accepted=accepted, copies=copies)


class EventStore(TableAccess):
    def put_event(self, accepted: AcceptedEvent, follower_ids: Iterable[str]) -> None:
        """Records an accepted event with one pending copy per follower. Idempotent on event_id:
        raises EventExists carrying the stored event if it was accepted before."""
        event = accepted.event
        received = iso(accepted.received_at)
        copies = {
            account_id: {"account_id": account_id, "status": CopyStatus.PENDING.value}
            for account_id in follower_ids
        }
        item = {
            **event_key(accepted.group_id, event.event_id),
            **to_item(
                {
                    "gsi1pk": events_index_pk(accepted.group_id),
                    "gsi1sk": events_index_sk(received, event.event_id),
                    "group_id": accepted.group_id,
                    "event_id": event.event_id,
                    "type": event.type,
                    "received_at": received,
                    "accepted": accepted.model_dump_json(),
                    "copies": copies,
                    "expires_at": self._expires_at(accepted.received_at),
                }
            ),
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if is_condition_failure(error):
                old: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
                raise EventExists(_stored_event_from(from_item(old)) if old else None) from error
            raise

    def delete_event(self, group_id: str, event_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key=event_key(group_id, event_id))

    def get_event(self, group_id: str, event_id: str) -> StoredEvent | None:
        item = self._client.get_item(
            TableName=self._table, Key=event_key(group_id, event_id), ConsistentRead=True
        )
        return _stored_event_from(from_item(item["Item"])) if "Item" in item else None

    def _event_ids(self, group_id: str, limit: int | None = None) -> list[str]:
        """Event ids of the group, newest first, from the index (which holds only ids)."""
        event_ids: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": events_index_pk(group_id)}},
            "ProjectionExpression": "event_id",
            "ScanIndexForward": False,
        }
        while limit is None or len(event_ids) < limit:
            if limit is not None:
                kwargs["Limit"] = limit - len(event_ids)
            page = self._client.query(**kwargs)
            event_ids.extend(item["event_id"]["S"] for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return event_ids

    def _events_by_id(
        self,
        group_id: str,
        event_ids: list[str],
        projection: str | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """The event items, read by key in batches of 100 (BatchGetItem's limit)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(event_ids), 100):
            keys = [event_key(group_id, event_id) for event_id in event_ids[start : start + 100]]
            request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
            if projection:
                request[self._table]["ProjectionExpression"] = projection
                request[self._table]["ExpressionAttributeNames"] = names or {}
            while request:
                result = self._client.batch_get_item(RequestItems=request)
                for item in result.get("Responses", {}).get(self._table, []):
                    values = from_item(item)
                    found[str(values["event_id"])] = values
                request = dict(result.get("UnprocessedKeys") or {})
        return found

    def list_events(self, group_id: str, limit: int) -> list[StoredEvent]:
        """The group's most recent events, newest first."""
        event_ids = self._event_ids(group_id, limit)
        items = self._events_by_id(group_id, event_ids)
        return [_stored_event_from(items[event_id]) for event_id in event_ids if event_id in items]
