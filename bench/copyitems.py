"""The raw items of one event's copies, read the way ``tradecopier.dal.copier`` lays them out
(``keys``): the event item and the copy items in the event's partition, and, for an
``order.placed``, its followers' order link items, which are its copy records."""

from __future__ import annotations

import json
from typing import Any


def event_copy_items(
    ddb: Any, table: str, group_id: str, event_id: str
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """(the event item or None, each follower's copy record item by account): one consistent Query
    of the event's partition, then for an ``order.placed`` one BatchGetItem of its link items."""
    items = ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"EVENT#{group_id}#{event_id}"}},
        ConsistentRead=True,
    )["Items"]
    event = next((item for item in items if item["sk"]["S"] == "EVENT"), None)
    if event is None:
        return None, {}
    recorded = {item["sk"]["S"].removeprefix("COPY#"): item for item in items if item is not event}
    followers = [value["S"] for value in event.get("followers", {}).get("L", [])]
    if event.get("type", {}).get("S") == "order.placed" and followers:
        order_id = json.loads(event["accepted"]["S"])["event"]["order_id"]
        keys = [
            {"pk": {"S": f"LINK#{group_id}#{order_id}"}, "sk": {"S": f"FOLLOWER#{account}"}}
            for account in followers
            if account not in recorded
        ]
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {table: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            while request:
                answer = ddb.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(table, []):
                    if item.get("event_id", {}).get("S") == event_id and "status" in item:
                        recorded[item["sk"]["S"].removeprefix("FOLLOWER#")] = item
                request = answer.get("UnprocessedKeys") or {}
    return event, {account: recorded[account] for account in followers if account in recorded}
