"""A follower's risk state and its breach flow, on the follower item (``GROUP#{gid}`` /
``FOLLOWER#{account}``): ``risk`` (settings), ``risk_state`` (the engine's memory), ``state``,
``lock_reason``, ``locked_at``, ``locked_until``.

Every state change is one conditional UpdateItem, so the breach flow (active → liquidate_only →
locked) moves forward only, whoever runs it (the executor, the scheduler, a redelivery).
A copy that changes the risk state writes it in one transaction with the copy record: the count of
trades and the copy's outcome are never out of step, even across a crash.

Two writers share ``risk_state``: the executor (a copy) and the scheduler (session start, flat-by).
Each write may name the state it read (``expected``); it then goes through only if the item still
holds exactly that (a compare-and-set on the JSON string), so neither overwrites what the other
wrote in between (a session start zeroing trades, a copy counting one). The scheduler gives way and
tries again next minute; the executor records its copy alone (below).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tradecopier import aws
from tradecopier.dal.copier.copies import CopyStore
from tradecopier.dal.copier.errors import CopyAlreadyFinal, ItemMissing
from tradecopier.dal.copier.followers import FollowerStore, risk_state_values
from tradecopier.dal.copier.keys import follower_key, iso
from tradecopier.dal.copier.table import cancellation_codes, is_condition_failure
from tradecopier.domain.accounts import Follower
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import FollowerState
from tradecopier.domain.orders import OrderLink

_STATE = {"#state": "state"}
RISK_LOCK_PREFIX = "risk: "


def _unchanged(expected: Any, values: dict[str, Any]) -> str:
    """The condition that ``risk_state`` is still ``expected`` (none: any state)."""
    if expected is None:
        return ""
    values[":read"] = {"S": risk_state_values(expected)}
    return " AND risk_state = :read"


def _follower_update(
    state: Any, breach: tuple[str, datetime | None] | None, now: datetime, expected: Any = None
) -> dict[str, Any]:
    values: dict[str, Any] = {":state": {"S": risk_state_values(state)}}
    unchanged = _unchanged(expected, values)
    if breach is None:
        return {
            "UpdateExpression": "SET risk_state = :state",
            "ConditionExpression": "attribute_exists(risk)" + unchanged,
            "ExpressionAttributeValues": values,
        }
    reason, locked_until = breach
    values.update(
        {
            ":active": {"S": FollowerState.ACTIVE.value},
            ":lo": {"S": FollowerState.LIQUIDATE_ONLY.value},
            ":reason": {"S": reason},
            ":at": {"S": iso(now)},
        }
    )
    expression = "SET risk_state = :state, #state = :lo, lock_reason = :reason, locked_at = :at"
    if locked_until is not None:
        values[":until"] = {"S": iso(locked_until)}
        expression += ", locked_until = :until"
    else:
        expression += " REMOVE locked_until"
    return {
        "UpdateExpression": expression,
        "ConditionExpression": "attribute_exists(risk) AND #state = :active" + unchanged,
        "ExpressionAttributeNames": _STATE,
        "ExpressionAttributeValues": values,
    }


class RiskStore(FollowerStore, CopyStore):
    def record_copy_with_risk(
        self,
        group_id: str,
        event_id: str,
        record: CopyRecord,
        state: Any,
        breach: tuple[str, datetime | None] | None = None,
        expected: Any = None,
        *,
        order_id: str | None = None,
        link: OrderLink | None = None,
    ) -> bool:
        """``record_copy`` (``order_id``, ``link``: as there) and the follower's new ``risk_state``
        in one transaction (2 items); with ``breach`` (lock reason, locked_until) the follower also
        moves active → liquidate_only.

        Returns whether the follower update went through (False: its rules were removed, it was
        no longer active, or its state was no longer ``expected`` meanwhile; the copy is recorded
        all the same). Raises CopyAlreadyFinal
        when the copy is final already (nothing is written then)."""
        follower_update = _follower_update(state, breach, self._clock(), expected)
        try:
            items: list[dict[str, Any]] = [
                {"Put": self.copy_put(group_id, event_id, record, order_id=order_id, link=link)},
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": follower_key(group_id, record.account_id),
                        **follower_update,
                    }
                },
            ]
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as error:
            codes = cancellation_codes(error)
            if aws.error_code(error) == "TransactionCanceledException" and codes:
                if codes[0] == "ConditionalCheckFailed":
                    if self.moved_to_event(group_id, event_id, record, order_id, link):
                        return self.record_copy_with_risk(group_id, event_id, record, state, breach, expected)
                    raise CopyAlreadyFinal() from error
                if codes[1:2] == ["ConditionalCheckFailed"]:
                    self.record_copy(group_id, event_id, record, order_id=order_id, link=link)
                    return False
            raise
        return True

    def save_risk_state(self, group_id: str, account_id: str, state: Any, expected: Any = None) -> bool:
        """The follower's new risk state, while it still has rules and (given) still holds
        ``expected``; False when nothing was written."""
        values: dict[str, Any] = {":state": {"S": risk_state_values(state)}}
        condition = "attribute_exists(risk)" + _unchanged(expected, values)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=follower_key(group_id, account_id),
                UpdateExpression="SET risk_state = :state",
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise
            return False
        return True

    def begin_liquidation(
        self,
        group_id: str,
        account_id: str,
        reason: str,
        locked_until: datetime | None,
        state: Any,
        expected: Any = None,
    ) -> bool:
        """active → liquidate_only, with the lock reason and ``locked_until`` it will end with and
        the state naming the breach. False when the follower was not active (nothing written)."""
        values: dict[str, Any] = {
            ":active": {"S": FollowerState.ACTIVE.value},
            ":lo": {"S": FollowerState.LIQUIDATE_ONLY.value},
            ":reason": {"S": reason},
            ":at": {"S": iso(self._clock())},
            ":state": {"S": risk_state_values(state)},
        }
        expression = "SET #state = :lo, lock_reason = :reason, locked_at = :at, risk_state = :state"
        if locked_until is not None:
            values[":until"] = {"S": iso(locked_until)}
            expression += ", locked_until = :until"
        else:
            expression += " REMOVE locked_until"
        condition = "#state = :active AND attribute_exists(risk)" + _unchanged(expected, values)
        return self._conditional(group_id, account_id, expression, condition, values)

    def finish_liquidation(self, group_id: str, account_id: str) -> bool:
        """liquidate_only → locked, once the follower is flat. False when it was not liquidating."""
        return self._conditional(
            group_id,
            account_id,
            "SET #state = :locked",
            "#state = :lo",
            {
                ":locked": {"S": FollowerState.LOCKED.value},
                ":lo": {"S": FollowerState.LIQUIDATE_ONLY.value},
            },
        )

    def lift_risk_lock(
        self, group_id: str, account_id: str, now: datetime, state: Any, expected: Any = None
    ) -> bool:
        """locked → active at a session start, when the lock's ``locked_until`` has passed; the new
        session's state with it. False when there was no such lock (or the state moved on)."""
        values: dict[str, Any] = {
            ":active": {"S": FollowerState.ACTIVE.value},
            ":locked": {"S": FollowerState.LOCKED.value},
            ":now": {"S": iso(now)},
            ":state": {"S": risk_state_values(state)},
        }
        condition = "#state = :locked AND locked_until <= :now" + _unchanged(expected, values)
        return self._conditional(
            group_id,
            account_id,
            "SET #state = :active, risk_state = :state REMOVE lock_reason, locked_at, locked_until",
            condition,
            values,
        )

    def reset_risk(self, group_id: str, account_id: str, state: Any) -> Follower:
        """``POST …/risk/reset``: the new session's state, and a risk lock (reason "risk: …") lifted,
        in one UpdateItem. Raises ItemMissing when the follower is gone or has no rules."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=follower_key(group_id, account_id),
                UpdateExpression="SET risk_state = :state",
                ConditionExpression="attribute_exists(risk)",
                ExpressionAttributeValues={":state": {"S": risk_state_values(state)}},
            )
        except ClientError as error:
            if is_condition_failure(error):
                raise ItemMissing() from error
            raise
        self._conditional(
            group_id,
            account_id,
            "SET #state = :active REMOVE lock_reason, locked_at, locked_until",
            "begins_with(lock_reason, :risk)",
            {":active": {"S": FollowerState.ACTIVE.value}, ":risk": {"S": RISK_LOCK_PREFIX}},
        )
        # An update that changes nothing answers the item as it is now.
        return self._update_follower(
            group_id, account_id, "SET risk_state = :state", {}, {":state": {"S": risk_state_values(state)}}
        )

    def _conditional(
        self,
        group_id: str,
        account_id: str,
        expression: str,
        condition: str,
        values: dict[str, Any],
    ) -> bool:
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Key": follower_key(group_id, account_id),
            "UpdateExpression": expression,
            "ConditionExpression": f"attribute_exists(pk) AND {condition}",
            "ExpressionAttributeValues": values,
        }
        if "#state" in expression or "#state" in condition:
            kwargs["ExpressionAttributeNames"] = _STATE
        try:
            self._client.update_item(**kwargs)
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True
