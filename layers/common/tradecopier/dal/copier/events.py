"""Leader events: ``EVENT#{group_id}#{event_id}`` / ``EVENT``, the accepted event with the list of
its ``followers`` (written once by ingest, never rewritten), listed newest first through ``gsi1``
under ``EVENTS#{group_id}``; its copy records are items of their own, written by the executor
(``copies``): in the event's partition (``COPY#{account}``), or, for an ``order.placed``, the
order link item of each follower (``LINK#{group_id}#{order_id}`` / ``FOLLOWER#{account}``), whose
keys the event item tells (its type, the order id in ``accepted``, its ``followers``); TTL
``expires_at``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tradecopier import aws
from tradecopier.dal.copier.errors import EventExists, GroupChanged
from tradecopier.dal.copier.keys import (
    INDEX,
    copy_key,
    event_key,
    event_pk,
    events_index_pk,
    events_index_sk,
    iso,
    link_key,
)
from tradecopier.dal.copier.table import TableAccess, is_condition_failure
from tradecopier.dal.copier.versions import version_check
from tradecopier.dal.dynamodb import from_item, to_item
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.events import AcceptedEvent


@dataclass(frozen=True, slots=True)
class StoredEvent:
    accepted: AcceptedEvent
    copies: list[CopyRecord]


COPY_FIELDS = frozenset(CopyRecord.model_fields)
PLACED = "order.placed"  # the event type whose copy records are its order's link items


def copy_from(values: dict[str, Any]) -> CopyRecord:
    cleaned = {key: value for key, value in values.items() if value is not None and key in COPY_FIELDS}
    for key in ("qty", "latency_ms", "attempts"):
        if key in cleaned:
            cleaned[key] = int(cleaned[key])
    return CopyRecord.model_validate(cleaned)


def copy_values(record: CopyRecord) -> dict[str, Any]:
    values = record.model_dump(mode="json", exclude_none=True)
    return values


def placed_order_id(values: dict[str, Any]) -> str | None:
    """The order id of a stored ``order.placed`` event item (its copy records are that order's
    link items), from its ``type`` and ``accepted`` attributes; None for any other event."""
    if values.get("type") != PLACED:
        return None
    return str(json.loads(values["accepted"])["event"]["order_id"])


def recorded_copies(items: Iterable[dict[str, Any]]) -> dict[tuple[str, str], CopyRecord]:
    """The copy records among items read at copy and link keys, by (event id, account): a link
    alone (no ``status``) is none; of two records of one copy (a failed attempt's pending note
    beside the final one, written at the other key) the final one."""
    found: dict[tuple[str, str], CopyRecord] = {}
    for values in items:
        if "status" not in values or "event_id" not in values:
            continue
        copy = copy_from(values)
        key = (str(values["event_id"]), copy.account_id)
        known = found.get(key)
        if known is None or (copy.status.is_final and not known.status.is_final):
            found[key] = copy
    return found


def copy_keys(group_id: str, event_id: str, account_id: str, order_id: str | None) -> list[dict[str, Any]]:
    """The keys a copy record may be at: the event's partition, and the order's link item for an
    ``order.placed`` (``copies``)."""
    keys = [copy_key(group_id, event_id, account_id)]
    if order_id is not None:
        keys.append(link_key(group_id, order_id, account_id))
    return keys


def _stored_event_from(
    values: dict[str, Any], recorded: dict[tuple[str, str], CopyRecord] | None = None
) -> StoredEvent:
    """The event with one copy per follower it was accepted for: the copy record the executor
    wrote, else ``pending`` (ingest writes no copy records)."""
    accepted = AcceptedEvent.model_validate_json(values["accepted"])
    event_id = accepted.event.event_id
    found = recorded or {}
    copies = [
        found.get((event_id, str(account_id))) or CopyRecord(account_id=account_id)
        for account_id in values.get("followers", [])
    ]
    return StoredEvent(accepted=accepted, copies=sorted(copies, key=lambda copy: copy.account_id))


def _put_event_error(error: ClientError) -> Exception:
    """What a failed event put means: GroupChanged (the group check failed, or a concurrent change
    of the group conflicted), EventExists (the event was there), else the error itself."""
    if is_condition_failure(error):
        old: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
        return EventExists(_stored_event_from(from_item(old)) if old else None)
    if aws.error_code(error) != "TransactionCanceledException":
        return error
    reasons = error.response.get("CancellationReasons", [])
    codes = [reason.get("Code", "None") for reason in reasons]
    if "TransactionConflict" in codes or codes[1:2] == ["ConditionalCheckFailed"]:
        return GroupChanged()
    if codes[0] == "ConditionalCheckFailed":
        stored: dict[str, Any] | None = reasons[0].get("Item")  # type: ignore[assignment]
        return EventExists(_stored_event_from(from_item(stored)) if stored else None)
    return error


class EventStore(TableAccess):
    def put_event(
        self, accepted: AcceptedEvent, follower_ids: Iterable[str], group_version: int | None = None
    ) -> None:
        """Records an accepted event and the followers it is for (each copy ``pending`` until the
        executor writes its copy item). Idempotent on event_id: raises EventExists carrying the
        stored event if it was accepted before.

        With ``group_version`` (the version of the group the followers were read from), one
        transaction: the put and a check that the group is still at that version; raises
        GroupChanged, writing nothing, when it is not (changed or deleted since it was read).
        """
        item = self._event_item(accepted, follower_ids)
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            if group_version is None:
                self._client.put_item(**put)
            else:
                check = version_check(self._table, accepted.group_id, group_version)
                self._client.transact_write_items(TransactItems=[{"Put": put}, check])  # type: ignore[typeddict-item]
        except ClientError as error:
            meaning = _put_event_error(error)
            if meaning is error:
                raise
            raise meaning from error

    def _event_item(self, accepted: AcceptedEvent, follower_ids: Iterable[str]) -> dict[str, Any]:
        event = accepted.event
        received = iso(accepted.received_at)
        return {
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
                    "followers": list(follower_ids),
                    "expires_at": self._expires_at(accepted.received_at),
                }
            ),
        }

    def delete_event(self, group_id: str, event_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key=event_key(group_id, event_id))

    def get_event(self, group_id: str, event_id: str) -> StoredEvent | None:
        """The event and its copies: one strongly consistent Query of the event's partition (the
        event item and the copy records there); for an ``order.placed`` one BatchGetItem more, of
        its followers' link items (its copy records)."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": event_pk(group_id, event_id)}},
            "ConsistentRead": True,
        }
        event: dict[str, Any] | None = None
        copies: list[dict[str, Any]] = []
        while True:
            page = self._client.query(**kwargs)
            for item in page.get("Items", []):
                values = from_item(item)
                if values["sk"] == "EVENT":
                    event = values
                else:
                    copies.append(values)
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        if event is None:
            return None
        order_id = placed_order_id(event)
        if order_id is not None:
            followers = [str(account_id) for account_id in event.get("followers", [])]
            copies.extend(self._batch_get([link_key(group_id, order_id, account) for account in followers]))
        return _stored_event_from(event, recorded_copies(copies))

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

    def _batch_get(
        self, keys: list[dict[str, Any]], projection: str | None = None, names: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The items of ``keys`` that exist, decoded, read consistently in batches of 100
        (BatchGetItem's limit)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            batch = keys[start : start + 100]
            request: dict[str, Any] = {self._table: {"Keys": batch, "ConsistentRead": True}}
            if projection:
                request[self._table]["ProjectionExpression"] = projection
                if names:
                    request[self._table]["ExpressionAttributeNames"] = names
            while request:
                result = self._client.batch_get_item(RequestItems=request)
                found.extend(map(from_item, result.get("Responses", {}).get(self._table, [])))
                request = dict(result.get("UnprocessedKeys") or {})
        return found

    def _events_by_id(
        self,
        group_id: str,
        event_ids: list[str],
        projection: str | None = None,
        names: dict[str, str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """The event items, read by key."""
        keys = [event_key(group_id, event_id) for event_id in event_ids]
        items = self._batch_get(keys, projection, names)
        return {str(values["event_id"]): values for values in items}

    def _copies_of(
        self, group_id: str, events: dict[str, dict[str, Any]], account_id: str | None = None
    ) -> dict[tuple[str, str], CopyRecord]:
        """The copy records of ``events`` (of one follower, given), by (event id, account): read by
        key, the keys known from each event item: an ``order.placed``'s at its link keys, any
        other's in its partition; one BatchGetItem per 100 keys. Only where a link item turns out
        to be another event's (a leader order id used again) is the event's partition read too."""
        first: dict[tuple[str, str], dict[str, Any]] = {}
        placed: dict[tuple[str, str], list[tuple[str, str]]] = {}  # link key → (event id, account)
        for event_id, values in events.items():
            order_id = placed_order_id(values)
            for follower in map(str, values.get("followers", [])):
                if account_id is not None and follower != account_id:
                    continue
                key = copy_keys(group_id, event_id, follower, order_id)[-1]
                first[_key_of(key)] = key
                if order_id is not None:
                    placed.setdefault(_key_of(key), []).append((event_id, follower))
        items = self._batch_get(list(first.values()))
        taken = {(str(values["pk"]), str(values["sk"])): values.get("event_id") for values in items}
        again = [
            copy_key(group_id, event_id, follower)
            for link, copies in placed.items()
            if link in taken
            for event_id, follower in copies
            if taken[link] != event_id
        ]
        if again:
            items.extend(self._batch_get(again))
        return recorded_copies(items)

    def list_events(self, group_id: str, limit: int) -> list[StoredEvent]:
        """The group's most recent events, newest first."""
        event_ids = self._event_ids(group_id, limit)
        items = self._events_by_id(group_id, event_ids)
        copies = self._copies_of(group_id, items)
        return [_stored_event_from(items[eid], copies) for eid in event_ids if eid in items]


def _key_of(key: dict[str, Any]) -> tuple[str, str]:
    return key["pk"]["S"], key["sk"]["S"]
