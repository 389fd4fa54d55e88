"""The shared Tradovate token of each broker user, in ``CopierTable`` (item design in
``dal/copier/keys.py``: ``TVTOKEN#{user digest}`` / ``TOKEN``).

One item per Tradovate user (REST base + username, as a digest: the username is held as a secret by
the credentials model, so it is never a key). It holds the token *sealed* (KMS ciphertext, see
``sealing``), its expiry, a ``token_version`` bumped on every new token, the renewal lease
(``lease_owner``, ``lease_until`` in epoch ms) and, after a refused login, the refusal
(``refused_reason``, ``refused_for``: the stored-at of the refused credentials, ``refused_until``).
Every write is conditional: only the lease holder stores a token or a refusal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tradecopier import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SK = "TOKEN"


def token_pk(rest_url: str, username: str) -> str:
    digest = hashlib.sha256(f"tradovate\0{rest_url}\0{username}".encode()).hexdigest()[:32]
    return f"TVTOKEN#{digest}"


@dataclass(frozen=True, slots=True)
class TokenItem:
    version: int
    sealed: bytes | None
    expires: str | None
    user_id: int | None
    lease_owner: str | None
    lease_until: int
    refused_reason: str | None
    refused_for: str | None
    refused_until: int


def _item(raw: dict[str, Any]) -> TokenItem:
    def num(name: str) -> int:
        return int(raw[name]["N"]) if name in raw else 0

    def text(name: str) -> str | None:
        return raw[name]["S"] if name in raw else None

    sealed = raw.get("sealed_token")
    return TokenItem(
        version=num("token_version"),
        sealed=bytes(sealed["B"]) if sealed else None,
        expires=text("token_expires"),
        user_id=num("user_id") or None,
        lease_owner=text("lease_owner"),
        lease_until=num("lease_until"),
        refused_reason=text("refused_reason"),
        refused_for=text("refused_for"),
        refused_until=num("refused_until"),
    )


class TokenStore:
    """Reads and conditional writes of the token items (the only DynamoDB code of the adapter)."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self._table = table_name
        self._client_override = client

    @property
    def _client(self) -> DynamoDBClient:
        return self._client_override or aws.client("dynamodb")

    def _key(self, pk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": SK}}

    def read(self, pk: str) -> TokenItem | None:
        raw = self._client.get_item(TableName=self._table, Key=self._key(pk), ConsistentRead=True)
        found = raw.get("Item")
        return None if found is None else _item(found)

    def _update(
        self, pk: str, expression: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The updated attributes, or None when the condition failed."""
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._key(pk),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if aws.error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return dict(answer.get("Attributes", {}))

    def take_lease(self, pk: str, owner: str, now_ms: int, until_ms: int, seen_version: int) -> bool:
        """The lease for renewing, if nobody holds a live one and no new token came since we read."""
        return None is not self._update(
            pk,
            "SET lease_owner = :me, lease_until = :until",
            "(attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :me) AND "
            "(attribute_not_exists(token_version) OR token_version = :seen)",
            {
                ":me": {"S": owner},
                ":until": {"N": str(until_ms)},
                ":now": {"N": str(now_ms)},
                ":seen": {"N": str(seen_version)},
            },
        )

    def put_token(
        self, pk: str, owner: str, *, sealed: bytes, expires: str, user_id: int | None, ttl: int
    ) -> int | None:
        """Stores a new token (version + 1), clears any refusal and the lease; only by the lease
        holder. Returns the new version (None: the lease was lost)."""
        values: dict[str, Any] = {
            ":me": {"S": owner},
            ":token": {"B": sealed},
            ":expires": {"S": expires},
            ":one": {"N": "1"},
            ":zero": {"N": "0"},
            ":ttl": {"N": str(ttl)},
            ":uid": {"N": str(user_id or 0)},
        }
        updated = self._update(
            pk,
            "SET sealed_token = :token, token_expires = :expires, user_id = :uid, expires_at = :ttl, "
            "token_version = if_not_exists(token_version, :zero) + :one "
            "REMOVE lease_owner, lease_until, refused_reason, refused_for, refused_until",
            "lease_owner = :me",
            values,
        )
        return None if updated is None else int(updated["token_version"]["N"])

    def refuse(self, pk: str, owner: str, *, reason: str, credentials: str, until_ms: int, ttl: int) -> bool:
        """Records a refused login (and drops the token): no container logs in with these
        credentials again before ``until_ms``."""
        return None is not self._update(
            pk,
            "SET refused_reason = :reason, refused_for = :creds, refused_until = :until, expires_at = :ttl "
            "REMOVE lease_owner, lease_until, sealed_token, token_expires",
            "lease_owner = :me",
            {
                ":me": {"S": owner},
                ":reason": {"S": reason},
                ":creds": {"S": credentials},
                ":until": {"N": str(until_ms)},
                ":ttl": {"N": str(ttl)},
            },
        )

    def release(self, pk: str, owner: str) -> None:
        self._update(pk, "REMOVE lease_owner, lease_until", "lease_owner = :me", {":me": {"S": owner}})

    def drop_token(self, pk: str, version: int) -> None:
        """The broker refused this version of the token (401): the next caller logs in anew."""
        self._update(
            pk, "REMOVE sealed_token, token_expires", "token_version = :v", {":v": {"N": str(version)}}
        )
