"""Executor: copy one leader event onto one follower.

load (one strongly consistent read) → mark the event's price → decide (pure; with the follower's
position only when a rule asks for it) → act on the follower's broker → record.
Exactly once: the copy record is the idempotency record (a final outcome is never redone or
overwritten), and every order carries a deterministic client order id, so a retry after a crash
that followed the broker's acceptance finds the first order instead of placing a second one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tradecopier.brokers.base import (
    BrokerAccessDenied,
    BrokerAccount,
    BrokerOrder,
    BrokerRejected,
    BrokerUnreachable,
    inline_waits,
)
from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier import CopierStore, CopyAlreadyFinal, CopyInputs, copy_order_id
from tradecopier.domain.accounts import ConnectionState, ConnectionStatus, Follower
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.decide import (
    Cancel,
    CopyDecision,
    Flatten,
    Modify,
    NeedPosition,
    NoCopy,
    Place,
    client_order_id,
    decide,
    is_follower_of,
)
from tradecopier.domain.enums import CopyStatus, FollowerState, Leg, OrderStatus
from tradecopier.domain.events import (
    AcceptedEvent,
    OrderFilled,
    OrderModified,
    OrderPlaced,
    PositionFlattened,
)
from tradecopier.domain.orders import CancelOrder, FlattenPosition, OrderLink
from tradecopier.domain.risk.state import RiskState
from tradecopier.domain.symbols import map_symbol
from tradecopier.logic import risk
from tradecopier.observability import MetricName, count, logger

BrokerOpener = Callable[[Follower], BrokerAccount]

_STATUS_METRIC = {
    CopyStatus.PLACED: MetricName.COPIES_PLACED,
    CopyStatus.SKIPPED: MetricName.COPIES_SKIPPED,
    CopyStatus.REJECTED: MetricName.COPIES_REJECTED,
    CopyStatus.FAILED: MetricName.COPIES_FAILED,
}


class CopyRetry(Exception):
    """The copy could not be done now; SQS delivers the message again after its visibility timeout."""


class CopyDeferred(CopyRetry):
    """The broker asked for a wait longer than the executor spends inline: the message must come
    back no earlier than ``retry_after`` seconds from now (``deliveries`` makes it invisible that long)."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


# --- the wait a broker asks for (a 429's Retry-After, Tradovate's p-time) -----------------------
# A short one is slept once inside the invocation and the copy tried again (same inputs, same
# client order ids: the adapters look an order up before placing it again); a longer one, or one
# the invocation has no time left for, defers the message (``CopyDeferred``).
INLINE_WAIT_MAX_S = 2.0
# What must be left of the invocation after the inline wait: one more broker exchange (read timeout
# 5 s) and the record. A batch that runs short defers instead.
INLINE_WAIT_RESERVE_S = 6.0


def no_deadline() -> float:
    return float("inf")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One SQS delivery of an accepted event to one follower's queue."""

    group_id: str
    account_id: str
    accepted: AcceptedEvent
    attempt: int
    max_attempts: int
    # Seconds left in the invocation (the Lambda context's); unknown: no limit.
    remaining_s: Callable[[], float] = field(default=no_deadline, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    # Sent again by home mode's restart (devstack.restore): a first SQS attempt, not a first try.
    redriven: bool = False

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    @property
    def tried_before(self) -> bool:
        """An earlier delivery may have reached the broker and died before recording the copy."""
        return self.attempt > 1 or self.redriven

    def may_wait_inline(self, seconds: float) -> bool:
        return 0 <= seconds <= INLINE_WAIT_MAX_S and self.remaining_s() - seconds >= INLINE_WAIT_RESERVE_S


@dataclass(frozen=True, slots=True)
class Outcome:
    status: CopyStatus
    reason: str | None = None
    qty: int | None = None
    broker_order_id: str | None = None
    client_order_id: str | None = None
    detail: str | None = None
    new_links: tuple[OrderLink, ...] = ()
    risk: risk.RiskChange | None = None  # the follower's risk state to write with the record
    filled: bool = False
    position_after: int | None = None  # the follower's, when the copy knows it without a broker call


def _leader_order_id(accepted: AcceptedEvent) -> str | None:
    event = accepted.event
    return None if isinstance(event, PositionFlattened) else event.order_id


def copy_event(
    delivery: Delivery, *, store: CopierStore, open_broker: BrokerOpener, clock: Clock = utc_now
) -> CopyRecord | None:
    """Copies one event onto one follower and records the outcome. Returns the record written,
    or None when there was nothing to write (duplicate delivery, follower not in the event).
    ``clock`` stamps the copy record (``updated_at``, ``latency_ms``) and the order link's TTL."""
    accepted = delivery.accepted
    event_id = accepted.event.event_id
    inputs = store.load_copy_inputs(
        delivery.group_id,
        delivery.account_id,
        event_id,
        _leader_order_id(accepted),
        placed=copy_order_id(accepted) is not None,  # 4 keys, not 5: its record is the link item
    )
    if not inputs.event_found:
        # Ingest answered 503 and removed the record (publish looked failed but went through).
        # Wait for the sender's retry to record it again; past the last attempt it was never accepted.
        if delivery.is_last_attempt:
            logger.warning("event was never accepted; dropping the delivery")
            return None
        raise CopyRetry(f"event {event_id} is not recorded (yet)")
    if inputs.copy is None:
        logger.info("follower joined after the event was accepted; nothing to copy")
        return None
    if inputs.copy.status.is_final:
        logger.info("duplicate delivery: copy already recorded", extra={"status": inputs.copy.status})
        # A crash after the record left the breach flow unfinished: this redelivery finishes it.
        _finish_breach(delivery, inputs.follower, store, open_broker, liquidating=False)
        return None

    follower = inputs.follower
    try:
        outcome = _act_honouring_wait(delivery, inputs, open_broker, clock)
        separate = _links_apart(delivery.accepted, outcome.new_links)[1]
        if separate:  # before the record: a crash between the two redoes the copy, never loses a link
            store.write_links(separate, clock())
    except BrokerAccessDenied as denied:
        _alert_if_lost(store, delivery, follower, denied_status(denied), denied.reason, clock)
        return lock_out(denied, delivery, store, clock, real_broker=_is_real(follower))
    except Exception as error:
        busy = isinstance(error, BrokerUnreachable) and error.retry_after is not None
        if isinstance(error, BrokerUnreachable) and not busy and not delivery.is_last_attempt:
            # A broker asking for a wait answered: it is not down, the board need not say so.
            note_connection(store, delivery, follower, "unreachable", error.reason, clock)
        return _handle_failure(error, delivery, store, clock, real_broker=_is_real(follower))
    if _broker_answered(outcome):
        note_connection(store, delivery, follower, "connected", None, clock)
    record = _record(delivery, outcome, store, clock)
    _recheck_sync(store, delivery, inputs.follower, outcome, clock)
    breach = outcome.risk.breach if outcome.risk is not None and record is not None else None
    liquidating = risk.liquidating(inputs.follower, breach)
    _finish_breach(delivery, liquidating, store, open_broker, liquidating=breach is not None, clock=clock)
    return record


def _finish_breach(
    delivery: Delivery,
    follower: Follower | None,
    store: CopierStore,
    open_broker: BrokerOpener,
    *,
    liquidating: bool,
    clock: Clock = utc_now,
) -> None:
    """A follower in liquidate_only (just breached, or left there by a crash) is flattened and
    locked; an error here retries the delivery, whose copy is final, so only this part runs again."""
    if follower is None or not (liquidating or follower.state is FollowerState.LIQUIDATE_ONLY):
        return
    liquidation_id = (
        follower.risk_state.liquidation_id if follower.risk_state and not liquidating else None
    ) or delivery.accepted.event.event_id
    try:
        broker = open_broker(follower)
        risk.liquidate(store, broker, delivery.group_id, follower, liquidation_id, now=clock())
    except Exception as error:
        if delivery.is_last_attempt:  # the next delivery to this follower finishes it
            logger.error("risk breach: flatten not finished", extra={"error": str(error)})
            return
        logger.warning("risk breach: flatten not finished; retrying", extra={"error": str(error)})
        raise CopyRetry(f"flatten after a risk breach not finished: {error}") from error


# --- the follower's last known broker status (API.md "connection") -------------------------------
# Written only when it changes (or is older than CONNECTION_REFRESH), and folded into the lock
# write when a broker error locks the follower: a copy to a connected broker costs no extra write.
CONNECTION_REFRESH = timedelta(minutes=10)


def _is_real(follower: Follower | None) -> bool:
    return follower is not None and follower.broker.is_real


def _broker_answered(outcome: Outcome) -> bool:
    return outcome.status is CopyStatus.PLACED or (
        outcome.status is CopyStatus.REJECTED and (outcome.reason or "").startswith("broker rejected:")
    )


def note_connection(
    store: CopierStore,
    delivery: Delivery,
    follower: Follower | None,
    status: ConnectionStatus,
    detail: str | None,
    clock: Clock,
) -> None:
    if follower is None or not follower.broker.is_real:
        return
    known, now = follower.connection, clock()
    if known is not None and known.status == status and now - known.checked_at < CONNECTION_REFRESH:
        return
    state = ConnectionState(status=status, checked_at=now, detail=detail)
    try:
        store.record_follower_connection(delivery.group_id, delivery.account_id, state)
    except Exception:  # a status note never fails a copy
        logger.exception("could not note the broker connection status")
    _alert_if_lost(store, delivery, follower, status, detail, clock)


def _alert_if_lost(
    store: CopierStore,
    delivery: Delivery,
    follower: Follower | None,
    status: ConnectionStatus,
    detail: str | None,
    clock: Clock,
) -> None:
    """Connected → not: the trader hears of it once (a broker that was never seen up is not news)."""
    known = follower.connection if follower is not None else None
    if status == "connected" or known is None or known.status != "connected":
        return
    from tradecopier.logic import alerting  # only a lost connection pays for this import

    alerting.broker_disconnected(store, delivery.group_id, delivery.account_id, status, detail, clock())


def denied_status(denied: BrokerAccessDenied) -> ConnectionStatus:
    return "account_not_found" if denied.code == "account_not_found" else "auth_failed"


def _recheck_sync(
    store: CopierStore, delivery: Delivery, follower: Follower | None, outcome: Outcome, clock: Clock
) -> None:
    if follower is None or outcome.position_after is None:
        return
    from tradecopier.logic.sync import recheck_after_copy

    try:
        recheck_after_copy(store, delivery.accepted, follower, outcome.position_after, clock())
    except Exception:  # the copy is done and recorded; its sync note is not worth failing it
        logger.exception("sync re-check after the copy failed")


def _act_honouring_wait(
    delivery: Delivery, inputs: CopyInputs, open_broker: BrokerOpener, clock: Clock
) -> Outcome:
    """``_decide_and_act``; when the broker asks for a short wait the invocation can afford, the
    wait is slept once and the copy tried again (a second "wait" goes to SQS like any other).
    An adapter that waits out a broker's wait itself (Tradovate's p-ticket) is held to the same
    allowance (``inline_waits``): a longer wait comes back here as ``retry_after`` and is deferred."""
    with inline_waits(delivery.may_wait_inline):
        try:
            return _decide_and_act(delivery, inputs, open_broker, clock)
        except BrokerUnreachable as busy:
            wait = busy.retry_after
            if wait is None or not delivery.may_wait_inline(wait):
                raise
            logger.info("broker asked to wait; waiting once", extra={"wait_s": wait, "reason": busy.reason})
            delivery.sleep(wait)
        return _decide_and_act(delivery, inputs, open_broker, clock)


def _decide_and_act(
    delivery: Delivery, inputs: CopyInputs, open_broker: BrokerOpener, clock: Clock
) -> Outcome:
    accepted = delivery.accepted
    follower = inputs.follower
    now = clock()
    decision = decide(accepted, follower, inputs.claim, inputs.link, now=now)
    if follower is None or not is_follower_of(inputs.claim, accepted.group_id):
        assert isinstance(decision, NoCopy)  # removed, or leader protection: no broker is touched
        return _no_copy(decision)
    try:
        broker = open_broker(follower)
        try:
            _mark(broker, delivery, follower, inputs.link)
            position, holdings = (
                risk.position_and_holdings(follower, broker, decision.symbol)
                if isinstance(decision, NeedPosition)
                else (None, {})
            )
        except BrokerUnreachable as unreachable:
            if not follower.may_only_reduce:
                raise
            # Already locked: retrying a broker that is down would only fail again; the copy is
            # final, and says why no exit could be checked.
            return Outcome(
                CopyStatus.SKIPPED,
                reason=f"follower locked: {follower.lock_reason}; its broker could not be reached to "
                f"check for an exit ({unreachable.reason})",
            )
        if isinstance(decision, NeedPosition):
            earlier = _placed_before(delivery, follower, broker)
            if earlier is not None:
                # The broker took this copy and the record was lost (a crash, a kill): decided
                # again as it was then -- before its fill, at its acceptance -- the decision is the
                # one the broker already holds (not "stale", not "already at target"), and placing
                # it again returns that order (same client order id), so the record tells the truth.
                position, holdings = _as_before(earlier, position, holdings)
                now = accepted.received_at
            decision = decide(accepted, follower, inputs.claim, inputs.link, now=now, position=position)
        assert not isinstance(decision, NeedPosition)  # asked once, answered once
        outcome, state = _act_within_rules(decision, delivery, follower, broker, holdings, now)
        if position is not None and isinstance(decision, Place) and outcome.filled:
            # The follower's position is known without another broker call: sync re-checks it.
            outcome = replace(
                outcome, position_after=position + decision.order.side.sign * (outcome.qty or 0)
            )
        return _with_losses(outcome, follower, state, broker, clock)
    except BrokerRejected as rejected:
        return Outcome(CopyStatus.REJECTED, reason=f"broker rejected: {rejected.reason}")


def _act_within_rules(
    decision: CopyDecision,
    delivery: Delivery,
    follower: Follower,
    broker: BrokerAccount,
    holdings: Mapping[str, int],
    now: datetime,
) -> tuple[Outcome, RiskState | None]:
    """The opening rules cap or reject the part that opens; the copy that opens is counted."""
    counted = None
    if isinstance(decision, Place):
        decision, counted = risk.apply_opening_rules(decision, follower, holdings, now)
    if isinstance(decision, NoCopy):
        return _no_copy(decision), follower.risk_state
    return _act_on_broker(decision, delivery, broker), counted or follower.risk_state


def _with_losses(
    outcome: Outcome, follower: Follower, state: RiskState | None, broker: BrokerAccount, clock: Clock
) -> Outcome:
    """The loss rules after the broker acted (a fill or a price mark), and the state to write."""
    checked = risk.after_act(follower, state, broker, clock())
    if checked is not None:
        return replace(outcome, risk=risk.RiskChange(checked.state, checked.breach, follower.risk_state))
    if state is not None and state != follower.risk_state:
        return replace(outcome, risk=risk.RiskChange(state, read=follower.risk_state))
    return outcome


def _placed_before(delivery: Delivery, follower: Follower, broker: BrokerAccount) -> BrokerOrder | None:
    """On a delivery that may not be the first, the order an earlier one placed for this entry
    (found by the copy's deterministic client order id); None on a first delivery (no broker call)."""
    event = delivery.accepted.event
    if not delivery.tried_before or not isinstance(event, OrderPlaced | OrderFilled):
        return None
    coid = client_order_id(delivery.group_id, event.event_id, follower.account_id)
    return broker.find_by_client_order_id(coid)


def _as_before(
    order: BrokerOrder, position: int | None, holdings: Mapping[str, int]
) -> tuple[int | None, Mapping[str, int]]:
    """The follower's position and holdings as they were before ``order`` filled."""
    if order.status is not OrderStatus.FILLED or position is None:
        return position, holdings
    signed = order.side.sign * order.qty
    before = dict(holdings)
    if order.symbol in before:
        before[order.symbol] -= signed
    return position - signed, {symbol: qty for symbol, qty in before.items() if qty}


def _no_copy(decision: NoCopy) -> Outcome:
    return Outcome(decision.status, reason=decision.reason, detail=decision.sizing)


def _mark(broker: BrokerAccount, delivery: Delivery, follower: Follower, link: OrderLink | None) -> None:
    """Every price in an event is the market price of that (mapped) symbol for the follower it
    reaches, before anything is decided: a simulated market fills what the price crosses (a locked
    follower's stop-loss too), and the risk engine values positions at it."""
    event = delivery.accepted.event
    if event.price is None:
        return
    if event.symbol is not None:
        mapped = map_symbol(event.symbol, follower.symbol_map)
    elif link is not None:
        mapped = link.symbol  # the follower's own symbol already
    else:
        return
    filled = broker.mark(mapped, event.price)
    if filled:
        logger.info("price mark filled working orders", extra={"symbol": mapped, "filled": len(filled)})


def _act_on_broker(decision: CopyDecision, delivery: Delivery, broker: BrokerAccount) -> Outcome:
    if isinstance(decision, Place):
        return _place(decision, delivery, broker)
    if isinstance(decision, Modify):
        assert isinstance(delivery.accepted.event, OrderModified)
        order = broker.modify(decision.command)
        replaced = order.broker_order_id != decision.link.broker_order_id
        new_links = (
            (decision.link.model_copy(update={"broker_order_id": order.broker_order_id}),) if replaced else ()
        )
        return _placed(order, detail=decision.sizing, new_links=new_links)
    if isinstance(decision, Cancel):
        return _cancel(decision, broker)
    assert isinstance(decision, Flatten)
    result = broker.flatten(FlattenPosition(decision.symbol, decision.client_order_id))
    closing = result.closing_order
    detail = f"cancelled {len(result.cancelled_order_ids)} working order(s); " + (
        f"closed {closing.qty} with {closing.side}" if closing else "no position to close"
    )
    return Outcome(
        CopyStatus.PLACED,
        reason=decision.reason,
        qty=closing.qty if closing else 0,
        broker_order_id=closing.broker_order_id if closing else None,
        client_order_id=decision.client_order_id,
        detail=detail,
    )


def _place(decision: Place, delivery: Delivery, broker: BrokerAccount) -> Outcome:
    """Places the copy (with its bracket legs as one bracket) and links each leader order id
    (entry and legs) to the follower order that plays its part."""
    event = delivery.accepted.event
    assert isinstance(event, OrderPlaced | OrderFilled)
    leader_order_id = event.order_id
    if decision.order.bracket is None:
        order = broker.place(decision.order)
        legs: dict[Leg, BrokerOrder] = {}
    else:
        placed = broker.place_bracket(decision.order)
        order = placed.entry
        legs = {
            leg: leg_order
            for leg, leg_order in ((Leg.TAKE_PROFIT, placed.take_profit), (Leg.STOP_LOSS, placed.stop_loss))
            if leg_order is not None
        }
    entry_link = OrderLink(
        group_id=delivery.group_id,
        leader_order_id=leader_order_id,
        account_id=delivery.account_id,
        broker_order_id=order.broker_order_id,
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        leg_order_ids={leg: leg_order.broker_order_id for leg, leg_order in legs.items()},
    )
    leg_links = tuple(
        entry_link.model_copy(
            update={
                "leader_order_id": leader_leg_id,
                "broker_order_id": legs[leg].broker_order_id,
                "client_order_id": legs[leg].client_order_id,
                "leg": leg,
                "parent_broker_order_id": order.broker_order_id,
                "leg_order_ids": {},
            }
        )
        for leg, leader_leg_id in decision.leg_leader_ids
        if leg in legs
    )
    detail = decision.sizing + (f"; bracket legs {', '.join(legs)}" if legs else "")
    return _placed(order, reason=decision.reason, detail=detail, new_links=(entry_link, *leg_links))


def _cancel(decision: Cancel, broker: BrokerAccount) -> Outcome:
    """Cancels the linked order; for an entry, also its bracket legs (the entry only if it is still
    working: a filled entry's legs are cancelled all the same, as the leader's were)."""
    link = decision.link
    if not link.leg_order_ids:
        order = broker.cancel(CancelOrder(link.broker_order_id))
        return _placed(order, reason=decision.reason, detail="cancelled")
    cancelled: list[str] = []
    entry: BrokerOrder | None = None
    for role, broker_order_id in (("entry", link.broker_order_id), *link.leg_order_ids.items()):
        try:
            answer = broker.cancel(CancelOrder(broker_order_id))
        except BrokerRejected as not_working:  # filled already, or its OCO sibling filled
            logger.info("order not cancelled", extra={"order": broker_order_id, "reason": not_working.reason})
            continue
        if role == "entry":
            entry = answer
        if answer.status is OrderStatus.CANCELLED:
            cancelled.append(str(role))
    return Outcome(
        CopyStatus.PLACED,
        reason=decision.reason,
        qty=entry.qty if entry else None,
        broker_order_id=link.broker_order_id,
        client_order_id=link.client_order_id,
        detail=f"cancelled {', '.join(cancelled) if cancelled else 'nothing: no order still working'}",
    )


def _placed(
    order: BrokerOrder,
    *,
    reason: str | None = None,
    detail: str | None = None,
    new_links: tuple[OrderLink, ...] = (),
) -> Outcome:
    return Outcome(
        CopyStatus.PLACED,
        reason=reason,
        qty=order.qty,
        broker_order_id=order.broker_order_id,
        client_order_id=order.client_order_id,
        detail=detail,
        new_links=new_links,
        filled=order.status is OrderStatus.FILLED,
    )


def _handle_failure(
    error: Exception, delivery: Delivery, store: CopierStore, clock: Clock, *, real_broker: bool = False
) -> CopyRecord | None:
    """Transient failure: retry through SQS; on the last attempt lock the follower first.

    A FIFO dead-letter queue breaks order, so before this message can be dead-lettered the
    follower is locked (with the reason) and the copy marked failed: nothing later is copied out
    of order onto it, and the trader sees why. Unlocking resumes with the next event; the
    skipped and failed ones are not replayed (a stale market order is worse than a missed one).
    """
    reason = f"{type(error).__name__}: {error}"
    attempts = f"attempt {delivery.attempt}/{delivery.max_attempts}"
    if not delivery.is_last_attempt:
        logger.warning(
            "copy attempt failed; SQS will retry", extra={"reason": reason, "attempt": delivery.attempt}
        )
        _record_quietly(
            store,
            delivery,
            CopyRecord(
                account_id=delivery.account_id,
                reason=f"{attempts} failed: {reason}",
                attempts=delivery.attempt,
                updated_at=clock(),
            ),
        )
        wait = error.retry_after if isinstance(error, BrokerUnreachable) else None
        if wait is not None and wait > 0:
            raise CopyDeferred(reason, wait) from error
        raise CopyRetry(reason) from error
    return give_up(error, delivery, store, clock, real_broker=real_broker)


def give_up(
    error: Exception,
    delivery: Delivery,
    store: CopierStore,
    clock: Clock = utc_now,
    *,
    real_broker: bool = False,
) -> CopyRecord | None:
    """The last attempt failed: lock the follower with the reason, then record the copy failed.

    Called for any error, not only broker ones, so that no message reaches the FIFO DLQ (which
    would let later events overtake it) without its follower being locked first.
    """
    reason = f"{type(error).__name__}: {error}"
    attempts = f"attempt {delivery.attempt}/{delivery.max_attempts}"
    lock_reason = (
        f"copy of event {delivery.accepted.event.event_id} failed after {delivery.attempt} attempts: {reason}"
    )
    unreachable = real_broker and isinstance(error, BrokerUnreachable)
    connection = (
        ConnectionState(status="unreachable", checked_at=clock(), detail=reason) if unreachable else None
    )
    store.lock_follower(
        delivery.group_id, delivery.account_id, lock_reason, keep_existing=True, connection=connection
    )
    count(MetricName.FOLLOWERS_LOCKED)
    logger.error("copy failed; follower locked", extra={"reason": reason})
    alert_locked(delivery, store, lock_reason, clock)
    return _record(
        delivery, Outcome(CopyStatus.FAILED, reason=f"{reason} ({attempts}); follower locked"), store, clock
    )


def lock_out(
    denied: BrokerAccessDenied,
    delivery: Delivery,
    store: CopierStore,
    clock: Clock = utc_now,
    *,
    real_broker: bool = True,
) -> CopyRecord | None:
    """The broker refused the login or does not know the account: no retry (each failed login
    counts toward the broker's lock-out of this IP); the follower is locked at once with
    ``"<code>: <the broker's words>"`` and the copy recorded failed."""
    reason = str(denied)
    status = denied_status(denied)
    connection = (
        ConnectionState(status=status, checked_at=clock(), detail=denied.reason) if real_broker else None
    )
    store.lock_follower(
        delivery.group_id, delivery.account_id, reason, keep_existing=True, connection=connection
    )
    count(MetricName.FOLLOWERS_LOCKED)
    logger.error("broker refused access; follower locked", extra={"reason": reason})
    alert_locked(delivery, store, reason, clock)
    return _record(delivery, Outcome(CopyStatus.FAILED, reason=f"{reason}; follower locked"), store, clock)


def _links_apart(
    accepted: AcceptedEvent, links: tuple[OrderLink, ...]
) -> tuple[OrderLink | None, list[OrderLink]]:
    """The link the copy record carries (an ``order.placed``'s entry: its record is the link item,
    so record and link are one write) and the links written apart (bracket legs, a modify's
    replaced order, an entry copied from a fill)."""
    order_id = copy_order_id(accepted)
    carried = next((x for x in links if x.leader_order_id == order_id and x.leg is None), None)
    return carried, [link for link in links if link is not carried]


def _write_record(
    store: CopierStore,
    delivery: Delivery,
    record: CopyRecord,
    change: risk.RiskChange | None,
    link: OrderLink | None = None,
) -> None:
    """One PutItem for a follower without rules (or whose state did not change); with a new risk
    state, one transaction of the copy record and the state (and the breach's liquidate_only).
    The record of an ``order.placed`` is its order's link item, carrying ``link``."""
    event_id = delivery.accepted.event.event_id
    order_id = copy_order_id(delivery.accepted)
    if change is None:
        store.record_copy(delivery.group_id, event_id, record, order_id=order_id, link=link)
        return
    breach = None
    state = change.state
    if change.breach is not None:
        breach = (change.breach.reason, change.breach.locked_until)
        state = state.model_copy(update={"liquidation_id": event_id})
    moved = store.record_copy_with_risk(
        delivery.group_id, event_id, record, state, breach, change.read, order_id=order_id, link=link
    )
    if not moved:
        # Rules removed, no longer active, or the scheduler wrote the state since it was read (a
        # session start): the copy stands, its count is dropped rather than overwrite the new
        # session; a breach is seen again at the next fill or price mark.
        logger.warning("risk state moved on meanwhile; copy recorded without its risk change")
    elif change.breach is not None:
        risk.count_breach(change.breach)
        logger.warning("risk breach: follower liquidate_only", extra={"reason": change.breach.reason})
        from tradecopier.logic import alerting  # only a breach pays for this import

        moment = record.updated_at or utc_now()
        alerting.breach(store, delivery.group_id, delivery.account_id, change.breach, moment)


def alert_locked(delivery: Delivery, store: CopierStore, reason: str, clock: Clock) -> None:
    """The trader hears of the lock (topic, chat); never raises, rate-limited per account."""
    from tradecopier import alerts  # only a lock pays for this import (the hot path stays lean)

    figures = {"event": delivery.accepted.event.event_id, "attempts": delivery.attempt}
    alert = alerts.Alert(
        alerts.AlertKind.FOLLOWER_LOCKED, delivery.account_id, reason, figures, delivery.group_id
    )
    alerts.notify(alert, ledger=store, clock=clock)


def _record_quietly(store: CopierStore, delivery: Delivery, record: CopyRecord) -> None:
    try:
        event_id = delivery.accepted.event.event_id
        store.record_copy(delivery.group_id, event_id, record, order_id=copy_order_id(delivery.accepted))
    except Exception:  # the retry matters more than this progress note
        logger.exception("could not note the failed attempt")


def _record(delivery: Delivery, outcome: Outcome, store: CopierStore, clock: Clock) -> CopyRecord | None:
    moment = clock()
    latency_ms = int((moment - delivery.accepted.received_at).total_seconds() * 1000)
    record = CopyRecord(
        account_id=delivery.account_id,
        status=outcome.status,
        qty=outcome.qty,
        reason=outcome.reason,
        broker_order_id=outcome.broker_order_id,
        client_order_id=outcome.client_order_id,
        detail=outcome.detail,
        latency_ms=latency_ms,
        attempts=delivery.attempt,
        updated_at=moment,
    )
    try:
        _write_record(
            store, delivery, record, outcome.risk, _links_apart(delivery.accepted, outcome.new_links)[0]
        )
    except CopyAlreadyFinal:
        logger.info("copy was recorded by an earlier delivery")
        return None
    count(_STATUS_METRIC[outcome.status])
    if outcome.status is CopyStatus.PLACED:
        count(MetricName.COPY_LATENCY, latency_ms)
    logger.info(
        "copy recorded",
        extra={
            "status": outcome.status,
            "qty": outcome.qty,
            "reason": outcome.reason,
            "latency_ms": latency_ms,
        },
    )
    return record
