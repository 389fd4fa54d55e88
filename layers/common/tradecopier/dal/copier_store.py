"""The copier's table: groups, followers, account claims, leader events with their copies, order links.

Single-table design (``CopierTable``; key ``pk``/``sk``, one overloaded GSI ``gsi1``):

| item          | pk                          | sk                 | gsi1pk / gsi1sk                     |
|---------------|-----------------------------|--------------------|-------------------------------------|
| group         | GROUP#{group_id}            | META               | GROUPS / {created_at}#{group_id}    |
| follower      | GROUP#{group_id}            | FOLLOWER#{account} |                                     |
| account claim | ACCOUNT#{account_id}        | CLAIM              |                                     |
| queue owner   | QUEUE#{queue_name}          | QUEUE              |                                     |
| leader event  | EVENT#{group_id}#{event_id} | EVENT              | EVENTS#{group_id} / {received_at}#… |
| order link    | LINK#{group_id}#{order_id}  | FOLLOWER#{account} |                                     |

Access patterns:
- create group: one transaction, leader claim (``attribute_not_exists``) + group item.
- get group with followers: one strongly consistent Query on ``GROUP#{gid}``.
- list groups: Query ``gsi1`` on ``GROUPS``.
- add follower: one transaction, follower claim (``attribute_not_exists``) + follower item + a
  condition check that the group exists. The claim is what makes "an account belongs to at most
  one group, and a leader is never a follower" race-proof: two requests cannot both create it.
- lock / unlock: conditional UpdateItem on the follower item.
- accept event: one conditional PutItem holding the event and a ``pending`` copy per follower
  (``attribute_not_exists`` = idempotency on ``event_id``; the existing item comes back on conflict).
- executor load: one strongly consistent BatchGetItem: follower, claim, the copy entry, the link.
- record copy: one UpdateItem of ``copies.{acct}``, conditional on it not being final yet.
- order link: one PutItem per placed copy (read back by modify/cancel of that leader order).
- list events of a group, newest first: Query ``gsi1`` on ``EVENTS#{gid}``.
Events and links expire through TTL (``expires_at``) after ``event_retention_days``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tradecopier import aws
from tradecopier.dal.dynamodb import from_item, to_attr, to_item
from tradecopier.domain.accounts import Account, AccountClaim, Follower, Group
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import AccountRole, BrokerName, CopyStatus, FollowerState
from tradecopier.domain.events import AcceptedEvent
from tradecopier.domain.orders import OrderLink

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class ItemExists(Exception):
    """A conditional create found the item (or the account claim) already there."""

    def __init__(self, existing: dict[str, Any] | None = None) -> None:
        super().__init__("item exists")
        self.existing = existing


class ItemMissing(Exception):
    """A conditional update found no item to update."""


class CopyAlreadyFinal(Exception):
    """The copy record was already final: this delivery is a duplicate."""


@dataclass(frozen=True, slots=True)
class FollowerItem:
    """A follower as stored, with its provisioning state."""

    follower: Follower
    provisioned: bool
    resources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupItem:
    """A group as stored: the public group plus what only the server sees."""

    group: Group
    token_hash: str
    topic_arns: list[str]
    followers: list[FollowerItem]

    @property
    def provisioned_followers(self) -> list[Follower]:
        return [item.follower for item in self.followers if item.provisioned]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    accepted: AcceptedEvent
    copies: list[CopyRecord]


@dataclass(frozen=True, slots=True)
class CopyInputs:
    """What the executor loads, in one strongly consistent read, to decide one copy."""

    event_found: bool
    follower: Follower | None
    claim: AccountClaim | None
    copy: CopyRecord | None
    link: OrderLink | None


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _group_pk(group_id: str) -> str:
    return f"GROUP#{group_id}"


def _claim_key(account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ACCOUNT#{account_id}"}, "sk": {"S": "CLAIM"}}


def _follower_key(group_id: str, account_id: str) -> dict[str, Any]:
    return {"pk": {"S": _group_pk(group_id)}, "sk": {"S": f"FOLLOWER#{account_id}"}}


def _group_key(group_id: str) -> dict[str, Any]:
    return {"pk": {"S": _group_pk(group_id)}, "sk": {"S": "META"}}


def _event_key(group_id: str, event_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"EVENT#{group_id}#{event_id}"}, "sk": {"S": "EVENT"}}


def _link_key(group_id: str, leader_order_id: str, account_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"LINK#{group_id}#{leader_order_id}"}, "sk": {"S": f"FOLLOWER#{account_id}"}}


def _queue_key(queue_name: str) -> dict[str, Any]:
    return {"pk": {"S": f"QUEUE#{queue_name}"}, "sk": {"S": "QUEUE"}}


def _is_condition_failure(error: ClientError) -> bool:
    return aws.error_code(error) == "ConditionalCheckFailedException"


def _cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons", [])
    return [reason.get("Code", "None") for reason in reasons]


_FOLLOWER_FIELDS = (
    "account_id",
    "broker",
    "multiplier",
    "max_qty",
    "rounding",
    "simulate",
    "state",
    "lock_reason",
    "locked_at",
)


def _follower_from(values: dict[str, Any]) -> Follower:
    fields = {name: values.get(name) for name in _FOLLOWER_FIELDS if name in values}
    max_qty = fields.get("max_qty")
    if max_qty is not None:
        fields["max_qty"] = int(max_qty)  # DynamoDB numbers come back as Decimal
    return Follower.model_validate(fields)


def _follower_values(follower: Follower) -> dict[str, Any]:
    values = follower.model_dump(mode="python")
    values["locked_at"] = _iso(follower.locked_at) if follower.locked_at else None
    return {key: (value.value if hasattr(value, "value") else value) for key, value in values.items()}


_COPY_FIELDS = frozenset(CopyRecord.model_fields)


def _copy_from(values: dict[str, Any]) -> CopyRecord:
    cleaned = {key: value for key, value in values.items() if value is not None and key in _COPY_FIELDS}
    for key in ("qty", "latency_ms", "attempts"):
        if key in cleaned:
            cleaned[key] = int(cleaned[key])
    return CopyRecord.model_validate(cleaned)


def _copy_values(record: CopyRecord) -> dict[str, Any]:
    values = record.model_dump(mode="json", exclude_none=True)
    return values


class CopierStore:
    """All reads and writes of ``CopierTable``."""

    def __init__(self, table_name: str, retention_days: int = 30, client: DynamoDBClient | None = None):
        self._table = table_name
        self._retention = timedelta(days=retention_days)
        self._client_override = client

    @property
    def _client(self) -> DynamoDBClient:
        return self._client_override or aws.client("dynamodb")

    def _expires_at(self, moment: datetime) -> int:
        return int((moment + self._retention).timestamp())

    # --- groups ------------------------------------------------------------------------------

    def create_group(self, group: Group, token_hash: str) -> None:
        """Creates the group and claims its leader account, atomically. Raises ItemExists if claimed."""
        created = _iso(group.created_at)
        group_item = to_item(
            {
                "pk": _group_pk(group.group_id),
                "sk": "META",
                "gsi1pk": "GROUPS",
                "gsi1sk": f"{created}#{group.group_id}",
                "group_id": group.group_id,
                "name": group.name,
                "leader_account_id": group.leader.account_id,
                "leader_broker": group.leader.broker.value,
                "created_at": created,
                "token_hash": token_hash,
                "topic_arns": [],
            }
        )
        claim = self._claim_item(group.leader.account_id, group.group_id, AccountRole.LEADER)
        self._transact_create([claim, group_item])

    def _claim_item(self, account_id: str, group_id: str, role: AccountRole) -> dict[str, Any]:
        return {
            **_claim_key(account_id),
            **to_item({"account_id": account_id, "group_id": group_id, "role": role.value}),
        }

    def _transact_create(
        self, items: list[dict[str, Any]], extra: list[dict[str, Any]] | None = None
    ) -> None:
        """Puts every item only if none exists yet (the first is the account claim)."""
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for item in items
        ]
        actions.extend(extra or [])
        try:
            self._client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except ClientError as error:
            codes = _cancellation_codes(error)
            if aws.error_code(error) == "TransactionCanceledException" and codes:
                if codes[0] == "ConditionalCheckFailed":
                    raise ItemExists() from error
                if "ConditionalCheckFailed" in codes[len(items) :]:
                    raise ItemMissing() from error
            raise

    def get_group(self, group_id: str) -> GroupItem | None:
        """The group and its followers, strongly consistent (a just-added follower is seen)."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": _group_pk(group_id)}},
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
        followers = [
            FollowerItem(
                follower=_follower_from(item),
                provisioned=bool(item.get("provisioned", False)),
                resources=dict(item.get("resources", {})),
            )
            for item in items
            if str(item["sk"]).startswith("FOLLOWER#")
        ]
        group = Group(
            group_id=meta["group_id"],
            name=meta["name"],
            leader=Account(account_id=meta["leader_account_id"], broker=BrokerName(meta["leader_broker"])),
            followers=[item.follower for item in followers],
            created_at=datetime.fromisoformat(meta["created_at"]),
        )
        return GroupItem(group, str(meta["token_hash"]), list(meta.get("topic_arns", [])), followers)

    def list_group_ids(self) -> list[str]:
        ids: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "GROUPS"}},
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
            Key=_group_key(group_id),
            UpdateExpression="SET topic_arns = :arns",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":arns": to_attr(topic_arns)},
        )

    def set_token_hash(self, group_id: str, token_hash: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_group_key(group_id),
                UpdateExpression="SET token_hash = :hash",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":hash": {"S": token_hash}},
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise ItemMissing() from error
            raise

    def delete_group(self, group: GroupItem) -> None:
        """Deletes the group item and releases its leader's claim (followers are removed first)."""
        self._client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self._table, "Key": _group_key(group.group.group_id)}},
                {"Delete": {"TableName": self._table, "Key": _claim_key(group.group.leader.account_id)}},
            ]
        )

    # --- account claims ----------------------------------------------------------------------

    def get_claim(self, account_id: str) -> AccountClaim | None:
        item = self._client.get_item(TableName=self._table, Key=_claim_key(account_id), ConsistentRead=True)
        if "Item" not in item:
            return None
        values = from_item(item["Item"])
        return AccountClaim(
            account_id=account_id, group_id=values["group_id"], role=AccountRole(values["role"])
        )

    # --- followers ---------------------------------------------------------------------------

    def create_follower(self, group_id: str, follower: Follower) -> None:
        """Claims the account and creates the (not yet provisioned) follower, atomically.

        Raises ItemExists if the account is claimed anywhere, ItemMissing if the group is gone.
        """
        item = {
            **_follower_key(group_id, follower.account_id),
            **to_item(
                {
                    **_follower_values(follower),
                    "group_id": group_id,
                    "provisioned": False,
                    "created_at": _iso(_now()),
                }
            ),
        }
        group_exists = {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": _group_key(group_id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        claim = self._claim_item(follower.account_id, group_id, AccountRole.FOLLOWER)
        self._transact_create([claim, item], extra=[group_exists])

    def mark_provisioned(
        self, group_id: str, account_id: str, queue_name: str, resources: dict[str, str]
    ) -> None:
        """Records the follower's queue and subscription; from now on ingest sends it copies."""
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _follower_key(group_id, account_id),
                        "UpdateExpression": "SET provisioned = :yes, resources = :resources",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": {
                            ":yes": {"BOOL": True},
                            ":resources": to_attr(resources),
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **_queue_key(queue_name),
                            **to_item({"group_id": group_id, "account_id": account_id}),
                        },
                    }
                },
            ]
        )

    def queue_owner(self, queue_name: str) -> tuple[str, str] | None:
        """(group_id, account_id) of a follower queue. The mapping never changes for a queue name."""
        item = self._client.get_item(TableName=self._table, Key=_queue_key(queue_name))
        if "Item" not in item:
            return None
        values = from_item(item["Item"])
        return str(values["group_id"]), str(values["account_id"])

    def update_follower_settings(self, group_id: str, account_id: str, settings: dict[str, Any]) -> Follower:
        """Applies the given settings fields (already validated); returns the follower after."""
        names = {f"#f{i}": name for i, name in enumerate(settings)}
        values = {f":v{i}": to_attr(value) for i, value in enumerate(settings.values()) if value is not None}
        sets = [f"#f{i} = :v{i}" for i, value in enumerate(settings.values()) if value is not None]
        removes = [f"#f{i}" for i, value in enumerate(settings.values()) if value is None]
        expression = " ".join(
            part
            for part in (
                f"SET {', '.join(sets)}" if sets else "",
                f"REMOVE {', '.join(removes)}" if removes else "",
            )
            if part
        )
        return self._update_follower(group_id, account_id, expression, names, values)

    def _update_follower(
        self, group_id: str, account_id: str, expression: str, names: dict[str, str], values: dict[str, Any]
    ) -> Follower:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": _follower_key(group_id, account_id),
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(pk)",
            "ReturnValues": "ALL_NEW",
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            result = self._client.update_item(**kwargs)
        except ClientError as error:
            if _is_condition_failure(error):
                raise ItemMissing() from error
            raise
        return _follower_from(from_item(result["Attributes"]))

    def lock_follower(
        self, group_id: str, account_id: str, reason: str, *, keep_existing: bool = False
    ) -> Follower:
        """Locks the follower. ``keep_existing`` keeps an earlier lock's reason (executor auto-lock)."""
        expression = "SET #state = :locked, lock_reason = :reason, locked_at = :at"
        if keep_existing:
            expression = (
                "SET #state = :locked, lock_reason = if_not_exists(lock_reason, :reason), "
                "locked_at = if_not_exists(locked_at, :at)"
            )
        return self._update_follower(
            group_id,
            account_id,
            expression,
            {"#state": "state"},
            {
                ":locked": {"S": FollowerState.LOCKED.value},
                ":reason": {"S": reason},
                ":at": {"S": _iso(_now())},
            },
        )

    def unlock_follower(self, group_id: str, account_id: str) -> Follower:
        return self._update_follower(
            group_id,
            account_id,
            "SET #state = :active REMOVE lock_reason, locked_at",
            {"#state": "state"},
            {":active": {"S": FollowerState.ACTIVE.value}},
        )

    def delete_follower(self, group_id: str, account_id: str, queue_name: str) -> None:
        """Deletes the follower item, its queue-owner item and releases the account claim."""
        self._client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self._table, "Key": _follower_key(group_id, account_id)}},
                {"Delete": {"TableName": self._table, "Key": _claim_key(account_id)}},
                {"Delete": {"TableName": self._table, "Key": _queue_key(queue_name)}},
            ]
        )

    # --- leader events and copies ------------------------------------------------------------

    def put_event(self, accepted: AcceptedEvent, follower_ids: Iterable[str]) -> None:
        """Records an accepted event with one pending copy per follower. Idempotent on event_id:
        raises ItemExists carrying the stored event if it was accepted before."""
        event = accepted.event
        received = _iso(accepted.received_at)
        copies = {
            account_id: {"account_id": account_id, "status": CopyStatus.PENDING.value}
            for account_id in follower_ids
        }
        item = {
            **_event_key(accepted.group_id, event.event_id),
            **to_item(
                {
                    "gsi1pk": f"EVENTS#{accepted.group_id}",
                    "gsi1sk": f"{received}#{event.event_id}",
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
            if _is_condition_failure(error):
                old: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
                raise ItemExists(from_item(old) if old else None) from error
            raise

    def delete_event(self, group_id: str, event_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key=_event_key(group_id, event_id))

    @staticmethod
    def stored_event_from(values: dict[str, Any]) -> StoredEvent:
        accepted = AcceptedEvent.model_validate_json(values["accepted"])
        copies = sorted(
            (_copy_from(dict(copy)) for copy in values.get("copies", {}).values()),
            key=lambda copy: copy.account_id,
        )
        return StoredEvent(accepted=accepted, copies=copies)

    def get_event(self, group_id: str, event_id: str) -> StoredEvent | None:
        item = self._client.get_item(
            TableName=self._table, Key=_event_key(group_id, event_id), ConsistentRead=True
        )
        return self.stored_event_from(from_item(item["Item"])) if "Item" in item else None

    def _event_ids(self, group_id: str, limit: int | None = None) -> list[str]:
        """Event ids of the group, newest first, from the index (which holds only ids)."""
        event_ids: list[str] = []
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"EVENTS#{group_id}"}},
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
            keys = [_event_key(group_id, event_id) for event_id in event_ids[start : start + 100]]
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
        return [self.stored_event_from(items[event_id]) for event_id in event_ids if event_id in items]

    def load_copy_inputs(
        self, group_id: str, account_id: str, event_id: str, leader_order_id: str | None
    ) -> CopyInputs:
        """One strongly consistent BatchGetItem: follower (lock state), claim, copy entry, order link."""
        keys = [_follower_key(group_id, account_id), _claim_key(account_id), _event_key(group_id, event_id)]
        if leader_order_id is not None:
            keys.append(_link_key(group_id, leader_order_id, account_id))
        projection = ", ".join(
            ["pk", "sk", "group_id", "#role", "broker_order_id", "client_order_id", "symbol", "copies.#acct"]
            + [f"#{name}" for name in _FOLLOWER_FIELDS]
        )
        names = {"#acct": account_id, "#role": "role", **{f"#{name}": name for name in _FOLLOWER_FIELDS}}
        request: dict[str, Any] = {
            self._table: {
                "Keys": keys,
                "ConsistentRead": True,
                "ProjectionExpression": projection,
                "ExpressionAttributeNames": names,
            }
        }
        found: dict[str, dict[str, Any]] = {}
        while request:
            result = self._client.batch_get_item(RequestItems=request)
            for item in result.get("Responses", {}).get(self._table, []):
                values = from_item(item)
                found[str(values["pk"]).split("#", 1)[0] + "|" + str(values["sk"]).split("#", 1)[0]] = values
            request = result.get("UnprocessedKeys") or {}
        follower_values = found.get("GROUP|FOLLOWER")
        claim_values = found.get("ACCOUNT|CLAIM")
        event_values = found.get("EVENT|EVENT")
        link_values = found.get("LINK|FOLLOWER")
        copy_values = (event_values or {}).get("copies", {}).get(account_id)
        return CopyInputs(
            event_found=event_values is not None,
            follower=_follower_from(follower_values) if follower_values else None,
            claim=AccountClaim(
                account_id=account_id,
                group_id=claim_values["group_id"],
                role=AccountRole(claim_values["role"]),
            )
            if claim_values
            else None,
            copy=_copy_from(dict(copy_values)) if copy_values else None,
            link=OrderLink(
                group_id=group_id,
                leader_order_id=leader_order_id or "",
                account_id=account_id,
                broker_order_id=link_values["broker_order_id"],
                client_order_id=link_values["client_order_id"],
                symbol=link_values["symbol"],
            )
            if link_values
            else None,
        )

    def record_copy(self, group_id: str, event_id: str, record: CopyRecord) -> None:
        """Writes one follower's copy outcome, unless a final outcome is already there.

        The condition makes the copy record the executor's idempotency record: a second delivery
        can never overwrite a final outcome (raises CopyAlreadyFinal).
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_event_key(group_id, event_id),
                UpdateExpression="SET copies.#acct = :record",
                # A copy skipped because its follower was being removed may still be overwritten by
                # the executor that was already placing it: the placed order must not go unrecorded.
                ConditionExpression="attribute_exists(copies.#acct) AND "
                "(copies.#acct.#status = :pending OR copies.#acct.by_removal = :yes)",
                ExpressionAttributeNames={"#acct": record.account_id, "#status": "status"},
                ExpressionAttributeValues={
                    ":record": to_attr(_copy_values(record)),
                    ":pending": {"S": CopyStatus.PENDING.value},
                    ":yes": {"BOOL": True},
                },
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise CopyAlreadyFinal() from error
            raise

    def pending_event_ids(self, group_id: str, account_id: str) -> list[str]:
        """Every event of the group whose copy for ``account_id`` is still pending."""
        items = self._events_by_id(
            group_id,
            self._event_ids(group_id),
            projection="event_id, copies.#acct.#status",
            names={"#acct": account_id, "#status": "status"},
        )
        return [
            event_id
            for event_id, values in items.items()
            if values.get("copies", {}).get(account_id, {}).get("status") == CopyStatus.PENDING.value
        ]

    def skip_pending_copies_of_removed(self, group_id: str, account_id: str, reason: str) -> int:
        """Marks the removed follower's still-pending copies skipped, so none stays pending forever."""
        marked = 0
        for event_id in self.pending_event_ids(group_id, account_id):
            record = {
                **_copy_values(
                    CopyRecord(
                        account_id=account_id, status=CopyStatus.SKIPPED, reason=reason, updated_at=_now()
                    )
                ),
                "by_removal": True,
            }
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_event_key(group_id, event_id),
                    UpdateExpression="SET copies.#acct = :record",
                    ConditionExpression="copies.#acct.#status = :pending",
                    ExpressionAttributeNames={"#acct": account_id, "#status": "status"},
                    ExpressionAttributeValues={":record": to_attr(record), ":pending": {"S": "pending"}},
                )
                marked += 1
            except ClientError as error:
                if not _is_condition_failure(error):
                    raise
        return marked

    def put_link(self, link: OrderLink, moment: datetime) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                **_link_key(link.group_id, link.leader_order_id, link.account_id),
                **to_item(
                    {
                        "broker_order_id": link.broker_order_id,
                        "client_order_id": link.client_order_id,
                        "symbol": link.symbol,
                        "expires_at": self._expires_at(moment),
                    }
                ),
            },
        )


__all__ = [
    "CopierStore",
    "CopyAlreadyFinal",
    "CopyInputs",
    "FollowerItem",
    "GroupItem",
    "ItemExists",
    "ItemMissing",
    "StoredEvent",
]
