"""Groups: ``GROUP#{group_id}`` / ``META`` (listed through ``gsi1`` under ``GROUPS``), read together
with the group's follower items in one strongly consistent Query.

``version`` on the group item counts the changes to what ingest reads from the group (its token
hash, its topics, which followers are provisioned): every such write bumps it in the same request
(``version_bump``), so ingest can keep the group in memory and accept an event only while the
version it read is still the stored one (``EventStore.put_event``'s ``group_version``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tradecopier.dal.copier.claims import claim_item
from tradecopier.dal.copier.errors import ItemMissing
from tradecopier.dal.copier.followers import FollowerItem, connection_attr, follower_item_from
from tradecopier.dal.copier.keys import (
    GROUPS_INDEX_PK,
    INDEX,
    claim_key,
    group_key,
    group_pk,
    groups_index_sk,
    iso,
)
from tradecopier.dal.copier.table import TableAccess, is_condition_failure
from tradecopier.dal.dynamodb import from_item, to_attr, to_item
from tradecopier.domain.accounts import ConnectionState, Follower, Group, Leader
from tradecopier.domain.enums import AccountRole, BrokerName


@dataclass(frozen=True, slots=True)
class GroupItem:
    """A group as stored: the public group plus what only the server sees."""

    group: Group
    token_hash: str
    topic_arns: list[str]
    followers: list[FollowerItem]
    version: int = 0  # see the module docstring; a group stored without one is at 0

    @property
    def provisioned_followers(self) -> list[Follower]:
        return [item.follower for item in self.followers if item.provisioned]


def _group_item_from(meta: dict[str, Any], followers: list[FollowerItem]) -> GroupItem:
    group = Group(
        group_id=meta["group_id"],
        name=meta["name"],
        leader=Leader(
            account_id=meta["leader_account_id"],
            broker=BrokerName(meta["leader_broker"]),
            connection=meta.get("leader_connection"),
        ),
        followers=[item.follower for item in followers],
        created_at=datetime.fromisoformat(meta["created_at"]),
    )
    return GroupItem(
        group,
        str(meta["token_hash"]),
        list(meta.get("topic_arns", [])),
        followers,
        int(meta.get("version", 0)),
    )


class GroupStore(TableAccess):
    def create_group(self, group: Group, token_hash: str) -> None:
        """Creates the group and claims its leader account, atomically. Raises ItemExists if claimed."""
        created = iso(group.created_at)
        group_item = to_item(
            {
                "pk": group_pk(group.group_id),
                "sk": "META",
                "gsi1pk": GROUPS_INDEX_PK,
                "gsi1sk": groups_index_sk(created, group.group_id),
                "group_id": group.group_id,
                "name": group.name,
                "leader_account_id": group.leader.account_id,
                "leader_broker": group.leader.broker.value,
                "created_at": created,
                "token_hash": token_hash,
                "topic_arns": [],
            }
        )
        claim = claim_item(group.leader.account_id, group.group_id, AccountRole.LEADER)
        self._transact_create([claim, group_item])

    def record_leader_connection(self, group_id: str, state: ConnectionState) -> None:
        """The leader's last known broker status, on the group item (nothing if it was deleted)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=group_key(group_id),
                UpdateExpression="SET leader_connection = :connection",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":connection": connection_attr(state)},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise

    def get_group(self, group_id: str) -> GroupItem | None:
        """The group and its followers, strongly consistent (a just-added follower is seen)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": group_pk(group_id)}},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**kwargs)
            items.extend(from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        meta = next((item for item in items if item["sk"] == "META"), None)
        if meta is None:
            return None
        followers = [follower_item_from(item) for item in items if str(item["sk"]).startswith("FOLLOWER#")]
        return _group_item_from(meta, followers)

    def list_group_ids(self) -> list[str]:
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX,
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": GROUPS_INDEX_PK}},
            "ProjectionExpression": "group_id",
        }
        while True:
            page = self._client.query(**kwargs)
            ids.extend(item["group_id"]["S"] for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set_topic_arns(self, group_id: str, topic_arns: list[str]) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=group_key(group_id),
            UpdateExpression="SET topic_arns = :arns ADD version :one",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":arns": to_attr(topic_arns), ":one": {"N": "1"}},
        )

    def set_token_hash(self, group_id: str, token_hash: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=group_key(group_id),
                UpdateExpression="SET token_hash = :hash ADD version :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":hash": {"S": token_hash}, ":one": {"N": "1"}},
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise ItemMissing() from error
            raise

    def delete_group(self, group: GroupItem) -> None:
        """Deletes the group item and releases its leader's claim (followers are removed first)."""
        self._client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self._table, "Key": group_key(group.group.group_id)}},
                {"Delete": {"TableName": self._table, "Key": claim_key(group.group.leader.account_id)}},
            ]
        )
