"""The copy decision: everything the copier does to one follower for one leader event, and why.

``decide`` is pure. The executor loads its inputs, calls it, acts on the broker and records the
outcome; every rule (leader protection, lock, exits never blocked, sizing, caps, missing link) is
decided here and unit-tested table by table.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from tradecopier.domain.accounts import AccountClaim, Follower
from tradecopier.domain.enums import AccountRole, CopyStatus
from tradecopier.domain.events import (
    AcceptedEvent,
    OrderCancelled,
    OrderModified,
    OrderPlaced,
    PositionFlattened,
)
from tradecopier.domain.orders import FollowerOrder, ModifyOrder, OrderLink
from tradecopier.domain.sizing import size_copy
from tradecopier.domain.types import Symbol


def client_order_id(group_id: str, event_id: str, account_id: str) -> str:
    """Deterministic id sent to the broker with every order a copy creates.

    The same (group, event, follower) always yields the same id, so a retry after a crash that
    happened once the broker had accepted finds the first order instead of placing a second.
    43 characters: within Alpaca's 48, safe for ProjectX ``customTag`` and Tradovate ``clOrdId``.
    """
    digest = hashlib.sha256(f"{group_id}#{event_id}#{account_id}".encode()).hexdigest()
    return f"tc-{digest[:40]}"


@dataclass(frozen=True, slots=True)
class Place:
    order: FollowerOrder
    sizing: str


@dataclass(frozen=True, slots=True)
class Modify:
    """``command`` changes the follower order ``link`` points to (``command.broker_order_id``)."""

    link: OrderLink
    command: ModifyOrder
    sizing: str | None


@dataclass(frozen=True, slots=True)
class Cancel:
    link: OrderLink
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Flatten:
    symbol: Symbol
    client_order_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class NoCopy:
    """Nothing is sent to the broker; ``status`` says whether it was skipped or refused."""

    status: CopyStatus
    reason: str
    sizing: str | None = None


CopyDecision = Place | Modify | Cancel | Flatten | NoCopy


def decide(
    accepted: AcceptedEvent,
    follower: Follower | None,
    claim: AccountClaim | None,
    link: OrderLink | None,
) -> CopyDecision:
    """Decides one follower's copy of one leader event.

    ``follower`` is None when it was removed after the event was accepted; ``claim`` is the
    account's group membership (the leader-protection check); ``link`` is the follower order that
    copied the leader order this event acts on, if any.
    """
    event = accepted.event
    if follower is None:
        return NoCopy(CopyStatus.SKIPPED, "follower was removed from the group before this copy")
    if claim is None or claim.role is not AccountRole.FOLLOWER or claim.group_id != accepted.group_id:
        return NoCopy(
            CopyStatus.REJECTED,
            f"leader protection: account {follower.account_id} is not a follower of this group",
        )
    coid = client_order_id(accepted.group_id, event.event_id, follower.account_id)

    if isinstance(event, PositionFlattened):
        # Getting out of risk is never blocked, not even by a lock.
        note = (
            f"follower locked ({follower.lock_reason}); exits are never blocked"
            if follower.is_locked
            else None
        )
        return Flatten(symbol=event.symbol, client_order_id=coid, reason=note)
    if follower.is_locked:
        return NoCopy(CopyStatus.SKIPPED, f"follower locked: {follower.lock_reason}")

    if isinstance(event, OrderPlaced):
        sizing = size_copy(event.qty, follower.multiplier, follower.rounding, follower.max_qty)
        if sizing.is_zero:
            return NoCopy(CopyStatus.SKIPPED, f"sized to 0 ({sizing.explanation})", sizing.explanation)
        order = FollowerOrder(
            client_order_id=coid,
            account_id=follower.account_id,
            symbol=event.symbol,
            side=event.side,
            qty=sizing.qty,
            order_type=event.order_type,
            limit_price=event.limit_price,
            stop_price=event.stop_price,
            reference_price=event.price,
        )
        return Place(order=order, sizing=sizing.explanation)

    if link is None:
        return NoCopy(
            CopyStatus.SKIPPED,
            f"no follower order copies leader order {event.order_id} (it was never placed here)",
        )
    if isinstance(event, OrderCancelled):
        return Cancel(link=link)
    assert isinstance(event, OrderModified)
    if event.qty is None:
        return Modify(link, _modify_order(link, event, coid, None), None)
    sizing = size_copy(event.qty, follower.multiplier, follower.rounding, follower.max_qty)
    if sizing.is_zero:
        return Cancel(
            link=link, reason=f"modified qty sizes to 0 ({sizing.explanation}): follower order cancelled"
        )
    return Modify(link, _modify_order(link, event, coid, sizing.qty), sizing.explanation)


def _modify_order(link: OrderLink, event: OrderModified, coid: str, qty: int | None) -> ModifyOrder:
    return ModifyOrder(
        broker_order_id=link.broker_order_id,
        client_order_id=coid,
        qty=qty,
        limit_price=event.limit_price,
        stop_price=event.stop_price,
    )
