"""Home mode's own TTL (devstack.expiry) on DynamoDB Local: DynamoDB Local reports TTL enabled but
never deletes an expired item, so the stack deletes exactly the items whose ``expires_at`` passed."""

from __future__ import annotations

import threading
import time
from typing import Any

from devstack.expiry import purge_every, purge_expired
from tests.conftest import CopierTables

NOW = 2_000_000_000  # the clock is an argument


def _put(client: Any, table: str, sk: str, expires_at: int | None) -> None:
    item = {"pk": {"S": "EVENT#g-1"}, "sk": {"S": sk}}
    if expires_at is not None:
        item["expires_at"] = {"N": str(expires_at)}
    client.put_item(TableName=table, Item=item)


def _sks(client: Any, table: str) -> list[str]:
    pages = client.get_paginator("scan").paginate(
        TableName=table, ConsistentRead=True, ProjectionExpression="sk"
    )
    return sorted(item["sk"]["S"] for page in pages for item in page["Items"])


def test_dynamodb_local_keeps_expired_items_with_ttl_enabled(
    dynamodb_local_client: Any, copier_tables: CopierTables
) -> None:
    """Why the purge exists: TTL says ENABLED, yet an item expired a day ago is still there."""
    ttl = dynamodb_local_client.describe_time_to_live(TableName=copier_tables.copier)
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    _put(dynamodb_local_client, copier_tables.copier, "OLD", int(time.time()) - 86_400)
    time.sleep(1)
    assert _sks(dynamodb_local_client, copier_tables.copier) == ["OLD"]


def test_only_items_whose_expiry_passed_are_deleted(
    dynamodb_local_client: Any, copier_tables: CopierTables
) -> None:
    client, table = dynamodb_local_client, copier_tables.copier
    _put(client, table, "EXPIRED-1", NOW - 86_400)
    _put(client, table, "EXPIRED-2", NOW - 1)
    _put(client, table, "AT-NOW", NOW)  # TTL deletes what is below now
    _put(client, table, "LATER", NOW + 3_600)
    _put(client, table, "KEPT-FOREVER", None)  # a group, a follower, a claim: no expiry
    client.put_item(  # the paper table has no TTL: nothing of it is touched
        TableName=copier_tables.paper,
        Item={"pk": {"S": "ACC#X"}, "sk": {"S": "POS#NQZ6"}, "expires_at": {"N": str(NOW - 86_400)}},
    )
    assert purge_expired(client, [table, copier_tables.paper], NOW) == 2
    assert _sks(client, table) == ["AT-NOW", "KEPT-FOREVER", "LATER"]
    assert len(client.scan(TableName=copier_tables.paper)["Items"]) == 1
    assert purge_expired(client, [table, copier_tables.paper], NOW) == 0


def test_every_page_of_a_large_table_is_purged(
    dynamodb_local_client: Any, copier_tables: CopierTables
) -> None:
    client, table = dynamodb_local_client, copier_tables.copier
    padding = "x" * 20_000  # ~60 items per 1 MB scan page: several pages
    for i in range(150):
        client.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"EVENT#g-{i % 3}"},
                "sk": {"S": f"E-{i:03d}"},
                "expires_at": {"N": str(NOW - 10 if i % 2 else NOW + 10)},
                "body": {"S": padding},
            },
        )
    assert purge_expired(client, [table], NOW) == 75
    assert _sks(client, table) == [f"E-{i:03d}" for i in range(150) if i % 2 == 0]


def test_the_purge_repeats_until_stopped_and_survives_a_failure() -> None:
    calls: list[int] = []
    reports: list[str] = []
    stopped = threading.Event()

    def purge() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("DynamoDB Local busy")
        if len(calls) == 3:
            stopped.set()
        return 0

    thread = purge_every(purge, stopped, every_s=0.01, report=reports.append)
    thread.join(timeout=10)
    assert not thread.is_alive() and len(calls) == 3
    assert reports == ["[devstack] purging expired items failed: DynamoDB Local busy"]
