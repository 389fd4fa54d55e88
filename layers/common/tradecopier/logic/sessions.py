"""The risk clock, once a minute: session starts (17:00 America/Chicago) and flat-by, per follower
with rules; and ``POST …/risk/reset``.

At a session start the follower's P&L and trade count go to 0, the end-of-day high-water mark takes
the closing balance, and a lock whose ``locked_until`` has passed is lifted. Flat-by flattens and
locks until the next session, through the same breach flow as a loss (liquidate_only → flat → locked).
Nothing is written for a follower whose minute changed nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from tradecopier.brokers.base import BrokerAccount
from tradecopier.dal.copier import ItemMissing
from tradecopier.domain.accounts import Follower
from tradecopier.domain.enums import FollowerState
from tradecopier.domain.errors import NotFound
from tradecopier.domain.risk.calendar import trading_day
from tradecopier.domain.risk.engine import on_clock, open_state, reset_session, session_over
from tradecopier.logic import alerting, risk
from tradecopier.logic.services import AdminServices, Services
from tradecopier.observability import logger
from tradecopier.settings import BrokerSettings

B = TypeVar("B", bound=BrokerSettings)  # the scheduler's or the admin's settings


def _broker(services: Services[B], follower: Follower) -> BrokerAccount:
    return risk.open_follower_broker(follower, services.settings)


def run_clock(services: Services[B], now: datetime | None = None) -> int:
    """One tick for every follower with rules; returns how many were checked. A follower whose
    broker fails is logged and left for the next minute: the others still run."""
    moment = now or services.clock()
    checked = 0
    for group_id in services.store.list_group_ids():
        group = services.store.get_group(group_id)
        for item in group.followers if group else []:
            follower = item.follower
            if follower.risk is None or follower.risk_state is None:
                continue
            checked += 1
            try:
                tick(services, group_id, follower, moment)
            except Exception:
                logger.exception(
                    "risk clock failed for a follower", extra={"account_id": follower.account_id}
                )
    return checked


def tick(services: Services[B], group_id: str, follower: Follower, now: datetime) -> None:
    settings, state = follower.risk, follower.risk_state
    assert settings is not None and state is not None
    store = services.store
    rolled = session_over(state, now)
    snapshot = _broker(services, follower).snapshot() if rolled and settings.has_loss_rules else None
    outcome = on_clock(settings, state, snapshot, now)
    account_id = follower.account_id
    if follower.state is FollowerState.LIQUIDATE_ONLY:  # left unfinished by a crash
        liquidation_id = state.liquidation_id or f"clock#{trading_day(now).isoformat()}"
        risk.liquidate(store, _broker(services, follower), group_id, follower, liquidation_id, now=now)
        return
    # Every write is conditional on the state read here: a copy the executor recorded meanwhile
    # wins, and this follower is looked at again next minute.
    current = state
    lock_passed = follower.locked_until is not None and follower.locked_until <= now
    if follower.state is FollowerState.LOCKED and lock_passed:
        fresh = outcome.state.model_copy(update={"liquidation_id": None})
        if not store.lift_risk_lock(group_id, account_id, now, fresh, expected=current):
            return
        logger.info("risk lock lifted at the session start", extra={"account_id": account_id})
        alerting.unlocked(store, group_id, account_id, now)
        follower, current = follower.model_copy(update={"state": FollowerState.ACTIVE}), fresh
    elif rolled:
        if not store.save_risk_state(group_id, account_id, outcome.state, expected=current):
            return
        current = outcome.state
    breach = outcome.breach
    if breach is None:
        return
    if follower.state is not FollowerState.ACTIVE:
        store.save_risk_state(group_id, account_id, outcome.state, expected=current)  # flat-by seen
        return
    liquidation_id = f"{breach.rule.value}#{trading_day(now).isoformat()}"
    marked = outcome.state.model_copy(update={"liquidation_id": liquidation_id})
    if store.begin_liquidation(
        group_id, account_id, breach.reason, breach.locked_until, marked, expected=current
    ):
        risk.count_breach(breach)
        alerting.breach(store, group_id, account_id, breach, now)
        liquidating = risk.liquidating(follower, breach)
        assert liquidating is not None
        risk.liquidate(store, _broker(services, follower), group_id, liquidating, liquidation_id, now=now)


def reset_risk(
    services: AdminServices, group_id: str, account_id: str, starting_balance: Decimal | None
) -> Follower:
    """A new session for this follower now: P&L and trades 0, a risk lock lifted; with
    ``starting_balance`` the balance and high-water mark restart there."""
    from tradecopier.logic.admin import get_follower

    follower = get_follower(services, group_id, account_id)
    if follower.risk is None:
        raise NotFound(f"follower {account_id} has no risk rules to reset")
    now = services.clock()
    state = follower.risk_state or open_state(follower.risk, now)
    balance = _broker(services, follower).snapshot().net_balance
    new = reset_session(state, now, balance, starting_balance).model_copy(update={"liquidation_id": None})
    try:
        return services.store.reset_risk(group_id, account_id, new)
    except ItemMissing as error:
        raise NotFound(f"follower {account_id} has no risk rules to reset") from error
