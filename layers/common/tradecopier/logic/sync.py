"""Sync checks (API.md v2 "Sync (reconciliation)"): compare what each follower holds with what it
should hold, record the result on the follower, and act under its ``sync_policy``.

Broker reads are batched per account: ONE ``positions()`` call per follower per check (and one for
a real-broker leader); nothing is ever sent to a leader's broker but that read. Catch-up orders are
market orders with deterministic client order ids (``catch_up_client_order_id``: follower, symbol,
the leader state and the position they correct), so a retried or repeated check never doubles one;
each is recorded in the follower's sync history with the figures that justified it.

Entry points: ``check_group`` (``GET /groups/{id}/sync`` reports, ``POST`` also acts),
``run_sync_checks(services, clock)`` (the schedule: every group, acting), and
``note_copy_position`` (the executor, after a copy whose resulting position it already knows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from tradecopier.brokers.base import BrokerAccount, BrokerError, BrokerPosition
from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier import CopierStore, GroupItem, ItemMissing
from tradecopier.dal.copier.keys import iso
from tradecopier.domain.accounts import Account, Follower
from tradecopier.domain.decide import NoCopy, Place, is_follower_of
from tradecopier.domain.enums import OrderType
from tradecopier.domain.events import AcceptedEvent
from tradecopier.domain.leader_position import LeaderPosition, leader_update
from tradecopier.domain.orders import FollowerOrder
from tradecopier.domain.sync import (
    CatchUp,
    CatchUpRules,
    Expected,
    Refused,
    SyncStatus,
    catch_up_client_order_id,
    decide_catch_up,
    expected_position,
    shown,
    sync_status,
)
from tradecopier.domain.sync_settings import FollowerSync
from tradecopier.logic import risk
from tradecopier.observability import MetricName, count, logger
from tradecopier.settings import BrokerSettings

FollowerBroker = Callable[[Follower], BrokerAccount]
LeaderBroker = Callable[[Account], BrokerAccount]


@dataclass(frozen=True, slots=True)
class SymbolSync:
    symbol: str
    leader_qty: int | None
    expected_qty: int | None
    actual_qty: int | None
    status: SyncStatus


@dataclass(frozen=True, slots=True)
class FollowerReport:
    account_id: str
    status: SyncStatus
    symbols: list[SymbolSync]
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class GroupReport:
    group_id: str
    checked_at: datetime
    followers: list[FollowerReport]

    @property
    def out_of_sync(self) -> int:
        return sum(1 for follower in self.followers if follower.status is SyncStatus.OUT_OF_SYNC)


@dataclass(frozen=True, slots=True)
class Brokers:
    follower: FollowerBroker
    leader: LeaderBroker


def known_leader_positions(
    store: CopierStore, group: GroupItem, brokers: Brokers
) -> dict[str, LeaderPosition]:
    """By leader symbol. A webhook leader: the stored ``position_after`` state. A real-broker leader:
    its broker's positions (one read), with the stored latest price; unknown if it cannot answer."""
    stored = {position.symbol: position for position in store.leader_positions(group.group.group_id)}
    leader = group.group.leader
    if not leader.broker.is_real:
        return stored
    try:
        held = {position.symbol: position for position in brokers.leader(leader).positions()}
    except Exception as error:  # the leader's broker did not answer: every symbol is unknown
        logger.warning("leader positions unavailable", extra={"error": str(error)})
        return {}
    known: dict[str, LeaderPosition] = {}
    for symbol in {*stored, *held}:
        before = stored.get(symbol)
        broker = held.get(symbol, BrokerPosition(symbol=symbol, qty=0))
        known[symbol] = LeaderPosition(
            symbol=symbol,
            qty=broker.qty,
            avg_price=broker.avg_price,
            last_price=before.last_price if before else None,
            as_of=f"{before.as_of if before else 'broker'}|{broker.qty}",
        )
    return known


def check_group(
    store: CopierStore, group: GroupItem, brokers: Brokers, *, now: datetime, act: bool
) -> GroupReport:
    """Checks every provisioned follower of the group now; ``act`` applies each one's policy."""
    leaders = known_leader_positions(store, group, brokers)
    reports = [
        _check_follower(store, group, follower, leaders, brokers, now=now, act=act)
        for follower in group.provisioned_followers
    ]
    report = GroupReport(group.group.group_id, now, reports)
    count(MetricName.FOLLOWERS_OUT_OF_SYNC, report.out_of_sync)
    return report


def _expected(leader: LeaderPosition, follower: Follower) -> Expected:
    """Sized as copies are, and capped by the follower's risk rule ``max_position`` when it has one."""
    rules = follower.risk
    if rules is None or rules.max_position is None:
        return expected_position(leader, follower)
    return expected_position(
        leader, follower, max_position=int(rules.max_position), micro_weight=rules.micro_weight
    )


def _expected_by_symbol(
    follower: Follower, leaders: Iterable[LeaderPosition]
) -> dict[str, tuple[Expected, LeaderPosition]]:
    found: dict[str, tuple[Expected, LeaderPosition]] = {}
    for leader in leaders:
        expected = _expected(leader, follower)
        found.setdefault(expected.symbol, (expected, leader))
    return found


def _check_follower(
    store: CopierStore,
    group: GroupItem,
    follower: Follower,
    leaders: dict[str, LeaderPosition],
    brokers: Brokers,
    *,
    now: datetime,
    act: bool,
) -> FollowerReport:
    expected = _expected_by_symbol(follower, leaders.values())
    broker: BrokerAccount | None = None
    try:
        broker = brokers.follower(follower)
        actual: dict[str, int] | None = {p.symbol: p.qty for p in broker.positions() if p.qty != 0}
    except Exception as error:  # unreachable, refused, credentials: unknown, never a failed check
        logger.warning(
            "follower positions unavailable", extra={"account_id": follower.account_id, "error": str(error)}
        )
        actual = None
    actions: list[dict[str, Any]] = []
    symbols: list[SymbolSync] = []
    for symbol in sorted({*expected, *(actual or {})}):
        pair = expected.get(symbol)
        held = None if actual is None else actual.get(symbol, 0)
        if act and broker is not None and pair is not None and held is not None and held != pair[0].qty:
            action = _apply_policy(store, group, follower, (broker, actual or {}), pair, held, now)
            actions.append(action)
            held = int(action.get("actual_after", held))
        status = sync_status(pair[0] if pair else None, held)
        symbols.append(
            SymbolSync(symbol, pair[1].qty if pair else None, pair[0].qty if pair else None, held, status)
        )
    report = FollowerReport(follower.account_id, _overall(symbols), symbols, actions)
    _record_status(store, group.group.group_id, follower, report, now)
    return report


def _overall(symbols: list[SymbolSync]) -> SyncStatus:
    if any(symbol.status is SyncStatus.OUT_OF_SYNC for symbol in symbols):
        return SyncStatus.OUT_OF_SYNC
    if not symbols or any(symbol.status is SyncStatus.UNKNOWN for symbol in symbols):
        return SyncStatus.UNKNOWN
    return SyncStatus.IN_SYNC


def _record_status(
    store: CopierStore, group_id: str, follower: Follower, report: FollowerReport, now: datetime
) -> None:
    sync = FollowerSync(
        status=report.status,
        checked_at=now,
        symbols_out_of_sync=[s.symbol for s in report.symbols if s.status is SyncStatus.OUT_OF_SYNC],
    )
    try:
        store.set_follower_sync(group_id, follower.account_id, _sync_values(sync))
    except ItemMissing:
        logger.info("follower removed during the sync check", extra={"account_id": follower.account_id})
        return
    held = "; ".join(
        f"{s.symbol} holds {s.actual_qty}, should hold {s.expected_qty}"
        for s in report.symbols
        if s.status is SyncStatus.OUT_OF_SYNC
    )
    _alert_if_drifted(store, group_id, follower, sync, held, now)


def _alert_if_drifted(
    store: CopierStore, group_id: str, follower: Follower, sync: FollowerSync, held: str, now: datetime
) -> None:
    """Once per transition into out_of_sync (the check runs every minute; the alert does not)."""
    was = follower.sync.status if follower.sync is not None else None
    if sync.status is not SyncStatus.OUT_OF_SYNC or was is SyncStatus.OUT_OF_SYNC:
        return
    from tradecopier.logic import alerting  # only a follower that drifts pays for this import

    alerting.out_of_sync(store, group_id, follower.account_id, sync.symbols_out_of_sync, held, now)


def _sync_values(sync: FollowerSync) -> dict[str, Any]:
    return {
        "status": sync.status.value,
        "checked_at": iso(sync.checked_at),
        "symbols_out_of_sync": sync.symbols_out_of_sync,
    }


def _apply_policy(
    store: CopierStore,
    group: GroupItem,
    follower: Follower,
    account: tuple[BrokerAccount, Mapping[str, int]],
    pair: tuple[Expected, LeaderPosition],
    actual: int,
    now: datetime,
) -> dict[str, Any]:
    """The follower's policy on one out-of-sync symbol: a catch-up order or a report, recorded.
    ``account``: its broker and every position it holds (the risk rule max_position sums them)."""
    expected, leader = pair
    group_id = group.group.group_id
    rules = CatchUpRules(
        follower.sync_policy, follower.max_catchup_ticks, follower.may_only_reduce, follower.lock_reason
    )
    decision = decide_catch_up(expected, actual, rules, leader)
    coid = catch_up_client_order_id(group_id, follower.account_id, expected.symbol, leader.as_of, actual)
    entry: dict[str, Any] = {
        "checked_at": iso(now),
        "symbol": expected.symbol,
        "policy": follower.sync_policy.value,
        "leader_symbol": leader.symbol,
        "leader_qty": leader.qty,
        "leader_avg_price": _text(leader.avg_price),
        "latest_price": _text(leader.last_price),
        "max_catchup_ticks": follower.max_catchup_ticks,
        "expected_qty": expected.qty,
        "actual_qty": actual,
    }
    if isinstance(decision, Refused) or decision is None:
        entry.update(action="reported", reason=decision.reason if decision else "in sync")
    else:
        entry.update(_catch_up(store, group, follower, account, decision, coid, leader, actual, now))
    store.put_sync_entry(group_id, follower.account_id, coid, entry)
    logger.info(
        "sync policy applied", extra={k: entry[k] for k in ("symbol", "action", "actual_qty", "expected_qty")}
    )
    return entry


def _text(value: Decimal | None) -> str | None:
    return None if value is None else shown(value)


def _catch_up(
    store: CopierStore,
    group: GroupItem,
    follower: Follower,
    account: tuple[BrokerAccount, Mapping[str, int]],
    decision: CatchUp,
    coid: str,
    leader: LeaderPosition,
    actual: int,
    now: datetime,
) -> dict[str, Any]:
    """Places the catch-up at market; leader protection first, then the risk opening rules on the
    part that opens (as a copy's: capped or refused with the rule's reason, and counted in the
    follower's trades today)."""
    figures: dict[str, Any] = {
        "action": "catch_up",
        "side": decision.side.value,
        "qty": decision.qty,
        "closing": decision.closing,
        "opening": decision.opening,
        "client_order_id": coid,
        "reason": decision.figures,
    }
    claim = store.get_claim(follower.account_id)
    if follower.account_id == group.group.leader.account_id or not is_follower_of(
        claim, group.group.group_id
    ):
        return {**figures, "status": "rejected", "detail": "leader protection: not a follower of this group"}
    order = FollowerOrder(
        client_order_id=coid,
        account_id=follower.account_id,
        symbol=decision.symbol,
        side=decision.side,
        qty=decision.qty,
        order_type=OrderType.MARKET,
        reference_price=leader.last_price,
    )
    broker, holdings = account
    allowed, counted = risk.apply_opening_rules(
        Place(order, decision.figures, opening_qty=decision.opening), follower, holdings, now
    )
    if isinstance(allowed, NoCopy):
        return {**figures, "status": "rejected", "detail": allowed.reason}
    if allowed.order.qty != order.qty:
        figures.update(qty=allowed.order.qty, opening=allowed.opening_qty, risk=allowed.reason)
    try:
        placed = broker.place(allowed.order)
    except BrokerError as error:
        return {**figures, "status": "failed", "detail": f"{type(error).__name__}: {error.reason}"}
    if counted is not None:  # a conditional write: a copy counted meanwhile wins, as in the executor
        group_id = group.group.group_id
        store.save_risk_state(group_id, follower.account_id, counted, expected=follower.risk_state)
    after = actual + decision.side.sign * placed.qty if placed.status.value == "filled" else actual
    return {
        **figures,
        "status": "placed",
        "broker_order_id": placed.broker_order_id,
        "order_status": placed.status.value,
        "actual_after": after,
    }


def note_copy_position(
    store: CopierStore,
    group_id: str,
    follower: Follower,
    symbol: str,
    expected: Expected,
    actual: int,
    now: datetime,
) -> None:
    """After a copy: the follower's new position in ``symbol`` is known without a broker call;
    its ``sync`` field is updated when this symbol's status changes it (no write otherwise)."""
    status = sync_status(expected, actual)
    current = follower.sync
    out = set(current.symbols_out_of_sync if current else [])
    out = out | {symbol} if status is SyncStatus.OUT_OF_SYNC else out - {symbol}
    overall = SyncStatus.OUT_OF_SYNC if out else SyncStatus.IN_SYNC
    if current is not None and current.status is overall and set(current.symbols_out_of_sync) == out:
        return
    sync = FollowerSync(status=overall, checked_at=now, symbols_out_of_sync=sorted(out))
    try:
        store.set_follower_sync(group_id, follower.account_id, _sync_values(sync))
    except ItemMissing:
        return
    if status is SyncStatus.OUT_OF_SYNC:
        count(MetricName.FOLLOWERS_OUT_OF_SYNC)
        _alert_if_drifted(
            store, group_id, follower, sync, f"{symbol} holds {actual}, should hold {expected.qty}", now
        )


def registry_brokers(settings: BrokerSettings) -> Brokers:
    """The adapters of ``brokers.registry`` (a leader's is only ever read: ``positions()``)."""
    from tradecopier.brokers.registry import open_broker

    return Brokers(
        follower=lambda f: open_broker(f.account_id, f.broker, f.simulate, settings),
        leader=lambda a: open_broker(a.account_id, a.broker, None, settings),
    )


def recheck_after_copy(
    store: CopierStore, accepted: AcceptedEvent, follower: Follower, position_after: int | None, now: datetime
) -> None:
    """The executor's re-check of its own follower and symbol, only when the copy knows the
    follower's resulting position (it read the position and the order filled) and the event tells
    the leader's: no broker call, one write only when the follower's ``sync`` field changes."""
    update = leader_update(accepted.event)
    if position_after is None or update is None:
        return
    leader = LeaderPosition(update.symbol, update.qty, None, update.price, accepted.event.event_id)
    expected = _expected(leader, follower)
    note_copy_position(store, accepted.group_id, follower, expected.symbol, expected, position_after, now)


def run_sync_checks(services: Any, clock: Clock = utc_now) -> list[GroupReport]:
    """The schedule's entry point: every group checked and its followers' policies applied.

    ``services`` needs ``store`` (a ``CopierStore``) and ``settings`` (``BrokerSettings``: paper
    table, resource prefix). One group's failure is logged and does not stop the others.
    """
    brokers = registry_brokers(services.settings)
    reports: list[GroupReport] = []
    store: CopierStore = services.store
    for group_id in store.list_group_ids():
        group = store.get_group(group_id)
        if group is None:
            continue
        try:
            reports.append(check_group(store, group, brokers, now=clock(), act=True))
        except Exception:
            logger.exception("sync check failed", extra={"group_id": group_id})
    return reports
