"""Risk in the copy path: load → engine (pure) → persist, around one copy.

Before a copy: the opening rules judge only the part that opens or adds (exits always pass); a cap
places the reduced quantity with the reason, no room rejects it. After the broker acted (a fill or a
price mark): the loss rules, on the broker's account snapshot. A breach moves the follower
active → liquidate_only in the same transaction as the copy record, then every position is
flattened with client order ids derived from the breach, then the follower is locked. Each step is
conditional and repeatable, so a redelivery after a crash between any two steps completes the flow
and never closes twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from tradecopier.brokers.base import BrokerAccount
from tradecopier.brokers.registry import open_broker
from tradecopier.dal.copier import CopierStore
from tradecopier.domain.accounts import Follower
from tradecopier.domain.decide import NoCopy, Place, client_order_id
from tradecopier.domain.enums import CopyStatus, FollowerState, OrderStatus
from tradecopier.domain.orders import FlattenPosition
from tradecopier.domain.risk.engine import RiskOutcome, on_mark, record_opening
from tradecopier.domain.risk.rules import Breach, OpeningProposal, check_opening
from tradecopier.domain.risk.state import RiskState
from tradecopier.observability import NAMESPACE, SERVICE, MetricName, count, logger
from tradecopier.settings import BrokerSettings


@dataclass(frozen=True, slots=True)
class RiskChange:
    """What a copy changes in its follower's risk: the state to write with the copy record, and
    the breach to start (liquidate_only) in the same write."""

    state: RiskState
    breach: Breach | None = None
    read: RiskState | None = None  # the state the copy started from: the write is conditional on it


def starting_balance(follower: Follower) -> Decimal | None:
    """What the paper broker's balance starts at: the rules' ``starting_balance`` (else its own)."""
    return follower.risk.starting_balance if follower.risk is not None else None


def open_follower_broker(follower: Follower, settings: BrokerSettings) -> BrokerAccount:
    """The follower's broker account, its paper balance starting at the rules' starting_balance."""
    balance = starting_balance(follower)
    if balance is None:  # no rules: the broker as before
        return open_broker(follower.account_id, follower.broker, follower.simulate, settings)
    return open_broker(follower.account_id, follower.broker, follower.simulate, settings, balance)


def needs_all_positions(follower: Follower) -> bool:
    """max_position sums every symbol: then the executor reads all positions in one call."""
    return follower.risk is not None and follower.risk.max_position is not None


def position_and_holdings(
    follower: Follower, broker: BrokerAccount, symbol: str
) -> tuple[int, Mapping[str, int]]:
    """The follower's position in ``symbol`` and, for max_position, all its positions (one call)."""
    if needs_all_positions(follower):
        held = {position.symbol: position.qty for position in broker.positions() if position.qty}
        return held.get(symbol, 0), held
    return broker.position(symbol).qty, {}


def apply_opening_rules(
    decision: Place, follower: Follower, holdings: Mapping[str, int], now: datetime
) -> tuple[Place | NoCopy, RiskState | None]:
    """The copy as the opening rules allow it, and the state counting it (None: not counted)."""
    settings, state = follower.risk, follower.risk_state
    if settings is None or state is None or decision.opening_qty == 0 or not settings.has_opening_rules:
        return decision, None
    order = decision.order
    proposal = OpeningProposal(symbol=order.symbol, side=order.side, qty=decision.opening_qty)
    verdict = check_opening(settings, state, proposal, holdings, now)
    closing = order.qty - decision.opening_qty
    if verdict.allowed:
        counted = record_opening(state, now)
        if verdict.qty == decision.opening_qty:
            return decision, counted
        return _resized(decision, closing, verdict.qty, verdict.capped), counted
    if closing == 0:
        return NoCopy(CopyStatus.REJECTED, verdict.rejection or "risk", decision.sizing), None
    return _resized(decision, closing, 0, f"{verdict.rejection}: only the exit is copied"), None


def _resized(decision: Place, closing: int, opening: int, note: str | None) -> Place:
    order = decision.order
    bracket = order.bracket.model_copy(update={"qty": opening}) if order.bracket and opening else None
    reason = "; ".join(part for part in (decision.reason, note) if part)
    return replace(
        decision,
        order=order.model_copy(update={"qty": closing + opening, "bracket": bracket}),
        reason=reason or None,
        opening_qty=opening,
        leg_leader_ids=decision.leg_leader_ids if bracket else (),
    )


def after_act(
    follower: Follower, state: RiskState | None, broker: BrokerAccount, now: datetime
) -> RiskOutcome | None:
    """The loss rules after the broker acted; a breach only for an active follower (one that is
    liquidating or locked already is being, or was, acted on)."""
    settings = follower.risk
    if settings is None or state is None or not settings.has_loss_rules:
        return None
    outcome = on_mark(settings, state, broker.snapshot(), now)
    if outcome.breach is not None and follower.state is not FollowerState.ACTIVE:
        return RiskOutcome(state=outcome.state)
    return outcome


def flatten_client_order_id(group_id: str, liquidation_id: str, account_id: str, symbol: str) -> str:
    """Deterministic per (group, breach, follower, symbol): a retry replays the first close."""
    return client_order_id(group_id, f"risk#{liquidation_id}#{symbol}", account_id)


def liquidating(follower: Follower | None, breach: Breach | None) -> Follower | None:
    """The follower as the breach just left it (liquidate_only, with the lock's reason and end)."""
    if follower is None or breach is None:
        return follower
    return follower.model_copy(
        update={
            "state": FollowerState.LIQUIDATE_ONLY,
            "lock_reason": breach.reason,
            "locked_until": breach.locked_until,
        }
    )


def liquidate(
    store: CopierStore,
    broker: BrokerAccount,
    group_id: str,
    follower: Follower,
    liquidation_id: str,
    *,
    now: datetime | None = None,
) -> None:
    """liquidate_only → flatten every symbol with a position or a working order → locked (and the
    trader hears of it once, from the write that locked it)."""
    account_id = follower.account_id
    symbols = {position.symbol for position in broker.positions() if position.qty} | {
        order.symbol for order in broker.orders() if order.status is OrderStatus.WORKING
    }
    for symbol in sorted(symbols):
        coid = flatten_client_order_id(group_id, liquidation_id, account_id, symbol)
        result = broker.flatten(FlattenPosition(symbol, coid))
        closing = result.closing_order
        logger.warning(
            "risk breach: flattened",
            extra={"symbol": symbol, "closed": closing.qty if closing else 0, "client_order_id": coid},
        )
    if store.finish_liquidation(group_id, account_id):
        count(MetricName.FOLLOWERS_LOCKED)
        logger.warning("risk breach: follower flat and locked", extra={"lock_reason": follower.lock_reason})
        from tradecopier.clock import utc_now
        from tradecopier.logic import alerting

        alerting.liquidated(store, group_id, follower, len(symbols), now or utc_now())


def count_breach(breach: Breach) -> None:
    """``FollowersLiquidated``, plus one data point of ``RiskLocks`` with the rule as its dimension
    (seven fixed values, so the number of custom metrics stays fixed)."""
    count(MetricName.FOLLOWERS_LIQUIDATED)
    with single_metric(
        name=MetricName.RISK_LOCKS.value,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="rule", value=breach.rule.value)
