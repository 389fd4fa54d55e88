"""The copy decision: everything the copier does to one follower for one leader event, and why.

``decide`` is pure. The executor loads its inputs, calls it, acts on the broker and records the
outcome; every rule (leader protection, lock, exits never blocked and never overshooting, mapping,
inverse, brackets, sizing, caps, stale copies, missing link) is decided here and unit-tested table
by table.

The follower's position is an input that costs a broker call, so ``decide`` asks for it only when
a rule needs it: it answers ``NeedPosition`` and the executor calls again with the position. That
happens for a follower that may only reduce (locked or liquidating), a follower with opening risk
rules (they judge only the part that opens), an entry that carries the
leader's ``position_after``, and a market entry that is already later than ``max_delay_ms``
(exits are never stale, so only then does it matter whether the copy opens or reduces). A plain
copy needs no position and pays no extra call.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from tradecopier.domain.accounts import AccountClaim, Follower
from tradecopier.domain.enums import AccountRole, CopyMode, CopyStatus, Leg, OrderType, Side
from tradecopier.domain.events import (
    AcceptedEvent,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderPlaced,
    PositionFlattened,
)
from tradecopier.domain.instruments import round_to_tick
from tradecopier.domain.orders import Bracket, FollowerOrder, ModifyOrder, OrderLink
from tradecopier.domain.sizing import size_copy
from tradecopier.domain.symbols import legs_for, map_symbol, side_for
from tradecopier.domain.types import Price, Symbol


def client_order_id(group_id: str, event_id: str, account_id: str) -> str:
    """Deterministic id sent to the broker with every order a copy creates.

    The same (group, event, follower) always yields the same id, so a retry after a crash that
    happened once the broker had accepted finds the first order instead of placing a second.
    43 characters: within Alpaca's 48, safe for ProjectX ``customTag`` and Tradovate ``clOrdId``.
    """
    digest = hashlib.sha256(f"{group_id}#{event_id}#{account_id}".encode()).hexdigest()
    return f"tc-{digest[:40]}"


def is_follower_of(claim: AccountClaim | None, group_id: str) -> bool:
    """Leader protection: only an account claimed as a follower of this group is ever touched."""
    return claim is not None and claim.role is AccountRole.FOLLOWER and claim.group_id == group_id


@dataclass(frozen=True, slots=True)
class Place:
    order: FollowerOrder
    sizing: str
    reason: str | None = None
    # The leader's leg order ids, in the follower's roles (swapped for an inverse follower).
    leg_leader_ids: tuple[tuple[Leg, str], ...] = ()
    # The part of ``order.qty`` that opens or adds (the rest closes): the only part risk rules judge.
    # Without a known position all of it counts as opening.
    opening_qty: int = 0


@dataclass(frozen=True, slots=True)
class Modify:
    """``command`` changes the follower order ``link`` points to (``command.broker_order_id``)."""

    link: OrderLink
    command: ModifyOrder
    sizing: str | None


@dataclass(frozen=True, slots=True)
class Cancel:
    """Cancels the linked order; for an entry, its bracket legs too."""

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


@dataclass(frozen=True, slots=True)
class NeedPosition:
    """``decide`` needs the follower's signed position in ``symbol``: load it and decide again."""

    symbol: Symbol


CopyDecision = Place | Modify | Cancel | Flatten | NoCopy
Entry = OrderPlaced | OrderFilled


def decide(
    accepted: AcceptedEvent,
    follower: Follower | None,
    claim: AccountClaim | None,
    link: OrderLink | None,
    *,
    now: datetime,
    position: int | None = None,
) -> CopyDecision | NeedPosition:
    """Decides one follower's copy of one leader event.

    ``follower`` is None when it was removed after the event was accepted; ``claim`` is the
    account's group membership (the leader-protection check); ``link`` is the follower order that
    copied the leader order this event acts on, if any; ``position`` is the follower's signed
    position in the mapped symbol, when known; ``now`` is when the copy would reach the broker.
    """
    event = accepted.event
    if follower is None:
        return NoCopy(CopyStatus.SKIPPED, "follower was removed from the group before this copy")
    if not is_follower_of(claim, accepted.group_id):
        return NoCopy(
            CopyStatus.REJECTED,
            f"leader protection: account {follower.account_id} is not a follower of this group",
        )
    coid = client_order_id(accepted.group_id, event.event_id, follower.account_id)

    if isinstance(event, PositionFlattened):
        # Getting out of risk is never blocked, not even by a lock.
        return Flatten(
            symbol=map_symbol(event.symbol, follower.symbol_map),
            client_order_id=coid,
            reason=_exit_note(follower),
        )
    if isinstance(event, OrderFilled) and follower.copy_mode is CopyMode.ORDERS:
        return NoCopy(CopyStatus.SKIPPED, "leader fill: copy mode orders copies the leader's orders instead")
    if not isinstance(event, OrderFilled) and follower.copy_mode is CopyMode.FILLS:
        return NoCopy(CopyStatus.SKIPPED, "copy mode fills: only the leader's fills are copied")
    if isinstance(event, OrderPlaced | OrderFilled):
        return _decide_entry(accepted, event, follower, coid, now=now, position=position)

    if follower.may_only_reduce:
        return NoCopy(CopyStatus.SKIPPED, f"follower locked: {follower.lock_reason}")
    if link is None:
        return NoCopy(
            CopyStatus.SKIPPED,
            f"no follower order copies leader order {event.order_id} (it was never placed here)",
        )
    if isinstance(event, OrderCancelled):
        return Cancel(link=link)
    return _decide_modify(event, follower, link, coid)


def _exit_note(follower: Follower) -> str | None:
    if not follower.may_only_reduce:
        return None
    return f"follower locked ({follower.lock_reason}): exits are never blocked"


# --- entries: order.placed, and order.filled in copy mode fills ---------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """How much of the copy closes the follower's position and how much opens a new one."""

    side: Side
    closing: int
    opening: int
    sizing: str
    reason: str | None = None

    @property
    def qty(self) -> int:
        return self.closing + self.opening


def _decide_entry(
    accepted: AcceptedEvent,
    event: Entry,
    follower: Follower,
    coid: str,
    *,
    now: datetime,
    position: int | None,
) -> CopyDecision | NeedPosition:
    symbol = map_symbol(event.symbol, follower.symbol_map)
    order_type = event.order_type if isinstance(event, OrderPlaced) else OrderType.MARKET
    late_ms = _late_ms(accepted, follower, order_type, now)
    if position is None and (
        follower.may_only_reduce
        or event.position_after is not None
        or late_ms is not None
        or (follower.risk is not None and follower.risk.has_opening_rules)
    ):
        return NeedPosition(symbol)

    side = side_for(event.side, follower.inverse)
    plan = _plan(event, follower, side, position)
    if isinstance(plan, NoCopy):
        return plan
    if late_ms is not None and plan.opening:
        stale = (
            f"stale: the copy would reach the broker {late_ms} ms after acceptance "
            f"(max_delay_ms {follower.max_delay_ms})"
        )
        if not plan.closing:
            return NoCopy(CopyStatus.SKIPPED, stale, plan.sizing)
        plan = _Plan(plan.side, plan.closing, 0, plan.sizing, f"{stale}: only the exit is copied")
    mapping = f"{event.symbol}→{symbol}; " if symbol != event.symbol else ""
    inverse = f"inverse {event.side}→{plan.side}; " if follower.inverse else ""
    return _place(event, follower, coid, symbol, order_type, plan, f"{mapping}{inverse}{plan.sizing}")


def _late_ms(accepted: AcceptedEvent, follower: Follower, order_type: OrderType, now: datetime) -> int | None:
    """How late a market copy is past its ``max_delay_ms``; None when it is in time (or not market)."""
    if order_type is not OrderType.MARKET or follower.max_delay_ms is None:
        return None
    delay_ms = int((now - accepted.received_at).total_seconds() * 1000)
    return delay_ms if delay_ms > follower.max_delay_ms else None


def _plan(event: Entry, follower: Follower, side: Side, position: int | None) -> _Plan | NoCopy:
    """Sizes an entry against the follower's position (API.md: exits never blocked, never overshoot).

    A copy is reducing when its side is opposite to the follower's position. ``position`` is None
    only when no rule needs it (an active follower, no ``position_after``, in time).
    """
    held = position or 0
    closable = abs(held) if held and (held > 0) != (side is Side.BUY) else 0
    if event.position_after == 0:
        if held == 0:
            return NoCopy(CopyStatus.SKIPPED, "already flat")
        closing_side = Side.SELL if held > 0 else Side.BUY
        return _Plan(closing_side, abs(held), 0, f"leader flat: close all {abs(held)}", _exit_note(follower))

    leader_before = (
        None if event.position_after is None else event.position_after - event.side.sign * event.qty
    )
    if leader_before and event.position_after and (leader_before > 0) != (event.position_after > 0):
        return _reversal(event.position_after, follower, side, closable)

    sizing = size_copy(event.qty, follower.multiplier, follower.rounding, follower.max_qty)
    partial_exit = leader_before is not None and abs(event.position_after or 0) < abs(leader_before)
    if partial_exit or follower.may_only_reduce:
        if closable == 0:
            return _nothing_to_reduce(follower, held)
        if sizing.is_zero:
            return NoCopy(CopyStatus.SKIPPED, f"sized to 0 ({sizing.explanation})", sizing.explanation)
        capped = min(sizing.qty, closable)
        note = f", capped at the position {closable}" if capped < sizing.qty else ""
        return _Plan(side, capped, 0, f"{sizing.explanation}{note}", _exit_note(follower))
    if sizing.is_zero:
        return NoCopy(CopyStatus.SKIPPED, f"sized to 0 ({sizing.explanation})", sizing.explanation)
    closing = min(sizing.qty, closable)
    return _Plan(side, closing, sizing.qty - closing, sizing.explanation)


def _reversal(position_after: int, follower: Follower, side: Side, closable: int) -> _Plan | NoCopy:
    """The leader went through zero: close the follower's position and open the sized new one, in
    one order. A follower that may only reduce does only the closing part."""
    new = size_copy(abs(position_after), follower.multiplier, follower.rounding, follower.max_qty)
    opening = 0 if follower.may_only_reduce else new.qty
    if closable + opening == 0:
        if follower.may_only_reduce:
            return NoCopy(CopyStatus.SKIPPED, f"follower locked: {follower.lock_reason}")
        return NoCopy(CopyStatus.SKIPPED, f"sized to 0 ({new.explanation})", new.explanation)
    sizing = f"reversal: close {closable} + open {new.explanation}"
    return _Plan(side, closable, opening, sizing, _exit_note(follower) if closable else None)


def _nothing_to_reduce(follower: Follower, held: int) -> NoCopy:
    if follower.may_only_reduce:
        return NoCopy(CopyStatus.SKIPPED, f"follower locked: {follower.lock_reason}")
    if held == 0:
        return NoCopy(CopyStatus.SKIPPED, "already flat")
    return NoCopy(
        CopyStatus.SKIPPED,
        f"leader reduces, but the follower's position {held} is not on the other side: nothing to reduce",
    )


def _place(
    event: Entry,
    follower: Follower,
    coid: str,
    symbol: str,
    order_type: OrderType,
    plan: _Plan,
    sizing: str,
) -> Place:
    limit_price = stop_price = None
    if isinstance(event, OrderPlaced):
        limit_price = _tick(event.limit_price, symbol)
        stop_price = _tick(event.stop_price, symbol)
    bracket, leg_ids = _bracket(event, follower, symbol, plan.opening)
    order = FollowerOrder(
        client_order_id=coid,
        account_id=follower.account_id,
        symbol=symbol,
        side=plan.side,
        qty=plan.qty,
        order_type=order_type,
        limit_price=limit_price,
        stop_price=stop_price,
        reference_price=_tick(event.price, symbol),
        bracket=bracket,
    )
    return Place(
        order=order, sizing=sizing, reason=plan.reason, leg_leader_ids=leg_ids, opening_qty=plan.opening
    )


def _bracket(
    event: Entry, follower: Follower, symbol: str, opening: int
) -> tuple[Bracket | None, tuple[tuple[Leg, str], ...]]:
    """The follower's legs for the part of the entry that opens (an exit gets no legs: they would
    open a new position once the exit filled). Inverse swaps the legs' roles."""
    if not isinstance(event, OrderPlaced) or not event.has_bracket or opening == 0:
        return None, ()
    take_profit, stop_loss = legs_for(event.take_profit, event.stop_loss, follower.inverse)
    bracket = Bracket(
        qty=opening,
        take_profit=_tick(take_profit.price, symbol) if take_profit else None,
        stop_loss=_tick(stop_loss.price, symbol) if stop_loss else None,
    )
    leader_ids = ((Leg.TAKE_PROFIT, take_profit), (Leg.STOP_LOSS, stop_loss))
    return bracket, tuple((leg, leader.order_id) for leg, leader in leader_ids if leader is not None)


def _tick(price: Price | None, symbol: str) -> Price | None:
    return None if price is None else round_to_tick(price, symbol)


# --- order.modified ---------------------------------------------------------------------------------


def _decide_modify(event: OrderModified, follower: Follower, link: OrderLink, coid: str) -> CopyDecision:
    if link.leg is not None:
        # A leader leg moved: the follower leg that plays its part gets the new price as its own
        # (an inverse follower's take-profit limit follows the leader's stop-loss stop).
        price = _tick(event.limit_price or event.stop_price, link.symbol)
        if price is None:
            return NoCopy(CopyStatus.SKIPPED, f"bracket leg {link.leg} moves by price only; no price given")
        if link.leg is Leg.TAKE_PROFIT:
            return Modify(link, _modify_order(link, coid, limit_price=price), None)
        return Modify(link, _modify_order(link, coid, stop_price=price), None)
    limit_price = _tick(event.limit_price, link.symbol)
    stop_price = _tick(event.stop_price, link.symbol)
    if event.qty is None:
        return Modify(link, _modify_order(link, coid, limit_price=limit_price, stop_price=stop_price), None)
    sizing = size_copy(event.qty, follower.multiplier, follower.rounding, follower.max_qty)
    if sizing.is_zero:
        return Cancel(
            link=link, reason=f"modified qty sizes to 0 ({sizing.explanation}): follower order cancelled"
        )
    command = _modify_order(link, coid, qty=sizing.qty, limit_price=limit_price, stop_price=stop_price)
    return Modify(link, command, sizing.explanation)


def _modify_order(
    link: OrderLink,
    coid: str,
    *,
    qty: int | None = None,
    limit_price: Price | None = None,
    stop_price: Price | None = None,
) -> ModifyOrder:
    return ModifyOrder(
        broker_order_id=link.broker_order_id,
        client_order_id=coid,
        qty=qty,
        limit_price=limit_price,
        stop_price=stop_price,
    )
