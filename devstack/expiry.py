"""Home mode: what DynamoDB's TTL does on AWS, done by the local stack itself.

DynamoDB Local accepts ``UpdateTimeToLive`` and reports the table's TTL as ENABLED, but it never
deletes an expired item. In memory that does not matter; in a data folder (home mode) the event,
copy, link and sync-history items would pile up for ever, and every start's restore (its scans of
the groups and of each group's events for pending copies) would get slower with them. So the stack
deletes, at start and then every ``EVERY_S``, each item of a table with TTL enabled whose TTL
attribute is in the past: read with a keys-only scan filtered on that attribute, deleted one by
one on the condition that it is still expired (an item given a later expiry meanwhile stays).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

EVERY_S = 3600.0


def ttl_attribute(client: Any, table: str) -> str | None:
    """The table's TTL attribute if TTL is enabled on it, else None."""
    description = client.describe_time_to_live(TableName=table).get("TimeToLiveDescription") or {}
    if description.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        return None
    name = description.get("AttributeName")
    return str(name) if name else None


def purge_expired(client: Any, tables: Iterable[str], now: float) -> int:
    """Deletes every item whose TTL attribute (epoch seconds) is below ``now``; returns how many."""
    deleted = 0
    for table in tables:
        attribute = ttl_attribute(client, table)
        if attribute is not None:
            deleted += _purge_table(client, table, attribute, int(now))
    return deleted


def _purge_table(client: Any, table: str, attribute: str, now: int) -> int:
    keys = [k["AttributeName"] for k in client.describe_table(TableName=table)["Table"]["KeySchema"]]
    names = {f"#k{i}": key for i, key in enumerate(keys)} | {"#ttl": attribute}
    expired = {":now": {"N": str(now)}}
    scan: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#ttl < :now",
        "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(keys))),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": expired,
    }
    deleted = 0
    while True:
        page = client.scan(**scan)
        for key in page.get("Items", []):
            try:
                client.delete_item(
                    TableName=table,
                    Key=key,
                    ConditionExpression="#ttl < :now",
                    ExpressionAttributeNames={"#ttl": attribute},
                    ExpressionAttributeValues=expired,
                )
                deleted += 1
            except client.exceptions.ConditionalCheckFailedException:
                continue  # written again with a later expiry since the scan
        if "LastEvaluatedKey" not in page:
            return deleted
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def purge_every(
    purge: Callable[[], int],
    stopped: threading.Event,
    every_s: float = EVERY_S,
    report: Callable[[str], None] = print,
) -> threading.Thread:
    """Runs ``purge`` every ``every_s`` until ``stopped`` is set (a daemon thread); a failure is
    reported and the next round tries again."""

    def run() -> None:
        while not stopped.wait(every_s):
            try:
                purge()
            except Exception as exc:  # DynamoDB Local busy or stopping: next round
                report(f"[devstack] purging expired items failed: {exc}")

    thread = threading.Thread(target=run, name="devstack-expiry", daemon=True)
    thread.start()
    return thread
