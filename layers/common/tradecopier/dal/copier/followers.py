"""Followers: ``GROUP#{group_id}`` / ``FOLLOWER#{account}``, a follower's settings, lock state and
provisioning state (read with its group in one Query, see ``groups``)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, cast

from botocore.exceptions import ClientError

from tradecopier.dal.copier.claims import claim_item
from tradecopier.dal.copier.errors import ItemMissing
from tradecopier.dal.copier.keys import claim_key, follower_key, iso, queue_key
from tradecopier.dal.copier.queues import queue_item
from tradecopier.dal.copier.table import TableAccess, is_condition_failure
from tradecopier.dal.copier.versions import version_bump
from tradecopier.dal.dynamodb import from_item, to_attr, to_item
from tradecopier.domain.accounts import ConnectionState, Follower
from tradecopier.domain.enums import AccountRole, FollowerState
from tradecopier.domain.risk.engine import risk_status
from tradecopier.domain.risk.settings import RiskSettings
from tradecopier.domain.risk.state import RiskState

MARKS_PER_TRANSACTION = 49  # 2 actions each + the version bump: TransactWriteItems' limit is 100


@dataclass(frozen=True, slots=True)
class FollowerItem:
    """A follower as stored, with its provisioning state."""

    follower: Follower
    provisioned: bool
    resources: dict[str, str] = field(default_factory=dict)


FOLLOWER_FIELDS = (
    "account_id",
    "broker",
    "multiplier",
    "max_qty",
    "rounding",
    "simulate",
    "symbol_map",
    "inverse",
    "copy_mode",
    "max_delay_ms",
    "state",
    "lock_reason",
    "locked_at",
    "locked_until",
    "risk",
    "risk_state",
    "connection",
    "sync_policy",
    "max_catchup_ticks",
    "sync",
)
# ``risk`` (the settings, preset applied) and ``risk_state`` (the engine's memory) are JSON strings:
# each is read and written whole, and a string keeps Decimal amounts and HH:MM times exact.


def connection_attr(state: ConnectionState) -> dict[str, Any]:
    """A connection state as a DynamoDB map (``checked_at`` as ``iso`` text)."""
    values = {"status": state.status, "checked_at": iso(state.checked_at), "detail": state.detail}
    return {"M": to_item(values)}


def follower_from(values: dict[str, Any]) -> Follower:
    fields = {name: values.get(name) for name in FOLLOWER_FIELDS if name in values}
    # A null setting is stored as an absent attribute: no max_delay_ms attribute is "no limit".
    fields.setdefault("max_delay_ms", None)
    for name in ("max_qty", "max_delay_ms", "max_catchup_ticks"):
        number = fields.get(name)
        if number is not None:
            fields[name] = int(number)  # DynamoDB numbers come back as Decimal
    risk = fields.pop("risk", None)
    state = fields.pop("risk_state", None)
    settings = RiskSettings.model_validate_json(risk) if risk else None
    risk_state = RiskState.model_validate_json(state) if state and settings else None
    return Follower.model_validate(
        {
            **fields,
            "risk": settings,
            "risk_state": risk_state,
            "risk_status": risk_status(settings, risk_state) if settings and risk_state else None,
        }
    )


def risk_values(settings: RiskSettings | None) -> str | None:
    """The stored form of a follower's ``risk`` (None: no rules, the attribute is removed)."""
    return None if settings is None else settings.model_dump_json()


def risk_state_values(state: RiskState) -> str:
    return state.model_dump_json()


def follower_item_from(values: dict[str, Any]) -> FollowerItem:
    return FollowerItem(
        follower=follower_from(values),
        provisioned=bool(values.get("provisioned", False)),
        resources=dict(values.get("resources", {})),
    )


def _follower_values(follower: Follower) -> dict[str, Any]:
    values = follower.model_dump(mode="python", exclude={"risk", "risk_status", "risk_state", "connection"})
    values["locked_at"] = iso(follower.locked_at) if follower.locked_at else None
    values["locked_until"] = iso(follower.locked_until) if follower.locked_until else None
    values["risk"] = risk_values(follower.risk)
    values["risk_state"] = risk_state_values(follower.risk_state) if follower.risk_state else None
    return {key: (value.value if hasattr(value, "value") else value) for key, value in values.items()}


class FollowerStore(TableAccess):
    def create_follower(self, group_id: str, follower: Follower) -> None:
        """Claims the account and creates the (not yet provisioned) follower, atomically.

        Raises ItemExists if the account is claimed anywhere, ItemMissing if the group is gone.
        """
        item = {
            **follower_key(group_id, follower.account_id),
            **to_item(
                {
                    **_follower_values(follower),
                    "group_id": group_id,
                    "provisioned": False,
                    "created_at": iso(self._clock()),
                }
            ),
        }
        claim = claim_item(follower.account_id, group_id, AccountRole.FOLLOWER)
        # The group's version bump is also the check that the group exists.
        bump = cast(dict[str, Any], version_bump(self._table, group_id))
        self._transact_create([claim, item], extra=[bump])

    def mark_provisioned(
        self, group_id: str, account_id: str, queue_name: str, resources: dict[str, str]
    ) -> None:
        """Records the follower's queue and subscription; from now on ingest sends it copies (the
        group's version bump in the same transaction makes an ingest that cached the group re-read it)."""
        self.mark_provisioned_many(group_id, [(account_id, queue_name, resources)])

    def mark_provisioned_many(
        self, group_id: str, followers: Sequence[tuple[str, str, dict[str, str]]]
    ) -> None:
        """``mark_provisioned`` for several followers of one group, (account, queue name, resources)
        each: one transaction (one version bump) per ``MARKS_PER_TRANSACTION`` followers, not one
        each (home mode's start re-records every follower's new subscription and mapping ids)."""
        for start in range(0, len(followers), MARKS_PER_TRANSACTION):
            actions: list[Any] = []
            for account_id, queue_name, resources in followers[start : start + MARKS_PER_TRANSACTION]:
                actions.append(self._provisioned_update(group_id, account_id, resources))
                actions.append(
                    {"Put": {"TableName": self._table, "Item": queue_item(queue_name, group_id, account_id)}}
                )
            actions.append(version_bump(self._table, group_id))
            self._client.transact_write_items(TransactItems=actions)

    def _provisioned_update(self, group_id: str, account_id: str, resources: dict[str, str]) -> Any:
        return {
            "Update": {
                "TableName": self._table,
                "Key": follower_key(group_id, account_id),
                "UpdateExpression": "SET provisioned = :yes, resources = :resources",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":yes": {"BOOL": True}, ":resources": to_attr(resources)},
            }
        }

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

    def set_follower_risk(self, group_id: str, account_id: str, risk: str | None, first_state: str) -> None:
        """Sets the follower's rules (keeping its risk state, or starting it at ``first_state``), or
        with ``risk`` None removes both. Raises ItemMissing when the follower is gone."""
        if risk is None:
            self._update_follower(group_id, account_id, "REMOVE risk, risk_state", {}, {})
            return
        self._update_follower(
            group_id,
            account_id,
            "SET risk = :risk, risk_state = if_not_exists(risk_state, :state)",
            {},
            {":risk": {"S": risk}, ":state": {"S": first_state}},
        )

    def _update_follower(
        self, group_id: str, account_id: str, expression: str, names: dict[str, str], values: dict[str, Any]
    ) -> Follower:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": follower_key(group_id, account_id),
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
            if is_condition_failure(error):
                raise ItemMissing() from error
            raise
        return follower_from(from_item(result["Attributes"]))

    def lock_follower(
        self,
        group_id: str,
        account_id: str,
        reason: str,
        *,
        keep_existing: bool = False,
        connection: ConnectionState | None = None,
    ) -> Follower:
        """Locks the follower. ``keep_existing`` keeps an earlier lock's reason (executor auto-lock);
        ``connection``: the broker status that caused it, in the same write."""
        expression = "SET #state = :locked, lock_reason = :reason, locked_at = :at"
        if keep_existing:
            expression = (
                "SET #state = :locked, lock_reason = if_not_exists(lock_reason, :reason), "
                "locked_at = if_not_exists(locked_at, :at)"
            )
        values = {
            ":locked": {"S": FollowerState.LOCKED.value},
            ":reason": {"S": reason},
            ":at": {"S": iso(self._clock())},
        }
        if connection is not None:
            expression += ", #connection = :connection"
            values[":connection"] = connection_attr(connection)
        if not keep_existing:
            expression += " REMOVE locked_until"  # the trader's lock lifts only by unlock
        names = {"#state": "state", **({"#connection": "connection"} if connection else {})}
        return self._update_follower(group_id, account_id, expression, names, values)

    def record_follower_connection(self, group_id: str, account_id: str, state: ConnectionState) -> None:
        """The follower's last known broker status (one UpdateItem; nothing if it was removed)."""
        with suppress(ItemMissing):
            self._update_follower(
                group_id,
                account_id,
                "SET #connection = :connection",
                {"#connection": "connection"},
                {":connection": connection_attr(state)},
            )

    def unlock_follower(self, group_id: str, account_id: str) -> Follower:
        return self._update_follower(
            group_id,
            account_id,
            "SET #state = :active REMOVE lock_reason, locked_at, locked_until",
            {"#state": "state"},
            {":active": {"S": FollowerState.ACTIVE.value}},
        )

    def delete_follower(self, group_id: str, account_id: str, queue_name: str) -> None:
        """Deletes the follower item, its queue-owner item and releases the account claim; bumps the
        group's version (ingest stops listing the follower with the next event)."""
        self._client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": self._table, "Key": follower_key(group_id, account_id)}},
                {"Delete": {"TableName": self._table, "Key": claim_key(account_id)}},
                {"Delete": {"TableName": self._table, "Key": queue_key(queue_name)}},
                version_bump(self._table, group_id),
            ]
        )
