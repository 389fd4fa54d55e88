"""Property test (RELIABILITY.md, "Properties"): random sequences of admin operations and leader
events, through the real handlers, against a model of what every account must hold.

Hypothesis drives a state machine over two groups and a pool of four follower accounts: add a
follower (random multiplier, rounding, max_qty, simulate=reject), add a leader as a follower,
remove, change settings, lock, unlock, send a market buy/sell or a flatten in one of two symbols,
resend an event already sent, deliver. The model is computed here, independently of the copier's
code, from API.md's rules:

- quantity = leader qty × multiplier (Decimal), rounded half_up / floor / ceil, capped at max_qty;
  0 is not placed (``skipped``);
- a locked follower's copies are ``skipped``, except a flatten, which still closes the position;
- a rejecting broker (simulate=reject) records a rejected order for a place, nothing for a flatten;
- settings and lock state apply when the copy is made (at delivery), not when the event is sent;
- a follower gets the events accepted while it belonged to the group, in order, and nothing else;
  a removed follower's undelivered copies are ``skipped``;
- an account belongs to at most one group; a leader is never a follower anywhere.

Copying v2 (API.md, "Follower settings", "Exits are never blocked, and never overshoot", "Fills
and prices"): followers also get a random ``symbol_map`` (NQ→MNQ or none), ``inverse`` and
``copy_mode`` (``max_delay_ms`` null, so timing never makes a copy stale); the leader sends market
``order.placed`` events, each optionally followed by its ``order.filled``, ``order.cancelled`` of an
order already filled (or never placed) and ``position.flattened``. The machine tracks the leader's
position; per example, every entry carries the correct ``position_after`` (``pa_mode`` "all"),
none does ("none", v1 sizing), or a random half does ("some"). The model sizes an entry against
the follower's position: ``position_after`` 0 closes it all ("already flat" when flat), a partial
exit and a locked follower's copy are capped at the position (only reducing copies pass a lock), a
reversal closes and opens the sized ``|position_after|`` in one order, anything else is v1 sizing;
``order.filled`` is skipped in copy mode orders and copied as a market order in fills mode, where
placed and cancelled are skipped; a cancel of a filled follower order is ``rejected`` by the broker.

And, independently of the model, after each delivery:

- no order of a follower is larger than its ``max_qty`` plus the part of it that closes the
  follower's position at that moment (the broker's orders replayed in order: a reversal may close
  and open in one order, an exit may be the whole position);
- with ``pa_mode`` "all", for a follower in copy mode orders whose settings have not changed under
  an open position (and that never had a rejecting broker while holding one): it is flat in the
  mapped symbol whenever the leader is flat, and its position (after ``inverse``) never has the
  opposite sign of the leader's.

After each delivery every account is checked: positions, number of broker orders (so no duplicate
and no missing order), unique client order ids, every copy's status and quantity, leaders without
any order, and each group's membership.

Size: ``RELIABILITY_EXAMPLES`` examples of up to ``RELIABILITY_STEPS`` steps (20 × 25 in
``make test``; ``make reliability`` runs more).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from devstack.samples import market, order_cancelled, order_filled
from devstack.samples import position_flattened as flatten
from tests.pipeline import Pipeline

EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "20"))
STEPS = int(os.environ.get("RELIABILITY_STEPS", "25"))

N_ACCOUNTS = 4
SYMBOLS = ("NQZ6", "ESZ6")
ROUNDING = {"half_up": ROUND_HALF_UP, "floor": ROUND_FLOOR, "ceil": ROUND_CEILING}

multipliers = st.one_of(
    st.sampled_from([Decimal(m) for m in ("0.1", "0.25", "0.5", "1", "1.5", "2", "3")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("4"), places=2),
)
max_qtys = st.one_of(st.none(), st.integers(min_value=1, max_value=6))
roundings = st.sampled_from(sorted(ROUNDING))
simulates = st.sampled_from([None, None, None, "reject"])
symbol_maps = st.sampled_from([{}, {"NQ": "MNQ"}])
copy_modes = st.sampled_from(["orders", "orders", "fills"])
PA_MODES = ("all", "all", "none", "some")  # does an entry carry the leader's position_after?
# The v2 settings a change of which, under an open position, ends the flat/sign invariant.
MAPPING_SETTINGS = ("symbol_map", "inverse", "copy_mode")


def expected_qty(leader_qty: int, multiplier: Decimal, rounding: str, max_qty: int | None) -> int:
    """API.md's sizing, written out again here (not imported from the copier)."""
    qty = int((Decimal(leader_qty) * multiplier).quantize(Decimal(1), rounding=ROUNDING[rounding]))
    return min(qty, max_qty) if max_qty is not None else qty


def mapped(symbol: str, symbol_map: dict[str, str]) -> str:
    """API.md's symbol mapping for the symbols used here (root + month code + one digit)."""
    if symbol in symbol_map:
        return symbol_map[symbol]
    root = symbol[:-2]
    return symbol_map[root] + symbol[-2:] if root in symbol_map else symbol


def sign(n: int) -> int:
    return (n > 0) - (n < 0)


@dataclass
class FollowerModel:
    group: int
    multiplier: Decimal = Decimal(1)
    rounding: str = "half_up"
    max_qty: int | None = None
    simulate: str | None = None
    symbol_map: dict[str, str] = field(default_factory=dict)
    inverse: bool = False
    copy_mode: str = "orders"
    locked: bool = False
    queue: list[dict[str, Any]] = field(default_factory=list)  # accepted, not yet delivered
    # The flat/sign invariant holds for it: copy mode orders since it was last flat, no mapping
    # change and no rejecting broker while it held a position.
    tracked: bool = False

    @property
    def may_track(self) -> bool:
        return self.copy_mode == "orders" and self.simulate is None

    def size(self, leader_qty: int) -> int:
        return expected_qty(leader_qty, self.multiplier, self.rounding, self.max_qty)


def plan_entry(model: FollowerModel, held: int, side: int, qty: int, after: int | None) -> int:
    """The signed quantity of the follower's copy of an entry (0: nothing placed, ``skipped``).

    ``side`` is the follower's (after inverse), ``held`` its position in the mapped symbol, ``after``
    the leader's ``position_after`` (None: not sent). API.md, "Exits are never blocked".
    """
    closable = abs(held) if sign(held) == -side else 0
    if after == 0:  # leader flat: close it all, whatever the multiplier
        return -held
    before = None if after is None else after - side * (-1 if model.inverse else 1) * qty
    if before and after and sign(before) != sign(after):  # reversal: close, open the new size
        return side * (closable + (0 if model.locked else model.size(abs(after))))
    sized = model.size(qty)
    if (after is not None and before is not None and abs(after) < abs(before)) or model.locked:
        return side * min(sized, closable)  # a partial exit, or all a lock lets through
    return side * sized


class CopierMachine(RuleBasedStateMachine):
    pipeline: ClassVar[Pipeline]
    figures: ClassVar[Counter[str]]

    def __init__(self) -> None:
        super().__init__()
        self.tag = uuid.uuid4().hex[:6]
        self.groups: list[tuple[str, str, str]] = []  # (group_id, token, leader)
        self.members: dict[str, FollowerModel] = {}
        self.positions: Counter[tuple[str, str]] = Counter()
        self.orders: Counter[str] = Counter()  # broker orders each account must hold
        self.used: set[str] = set()
        self.sent: list[tuple[int, dict[str, Any]]] = []
        self.to_check: list[tuple[int, str, str, str, int | None]] = []  # group, event, account, status, qty
        self.copy_sets: dict[str, set[str]] = {}  # event → the followers it was accepted for
        self.n = 0
        self.pa_mode = "none"
        self.leader_positions: Counter[tuple[int, str]] = Counter()  # (group, symbol) → signed
        self.leader_orders: list[tuple[int, str]] = []  # (group, leader order id) sent
        self.links: set[tuple[str, str]] = set()  # (account, leader order id) a follower order copies
        self.replayed: dict[str, tuple[int, Counter[str]]] = {}  # account → orders seen, positions

    def account(self, index: int) -> str:
        return f"{self.tag}-F{index}"

    def _follower_path(self, account_id: str) -> str:
        return f"/groups/{self.groups[self.members[account_id].group][0]}/followers/{account_id}"

    # --- admin operations ------------------------------------------------------------------------

    @initialize(
        start=st.lists(
            st.tuples(st.integers(0, 1), multipliers, roundings, max_qtys, simulates), max_size=N_ACCOUNTS
        ),
        v2=st.lists(
            st.tuples(symbol_maps, st.booleans(), copy_modes), min_size=N_ACCOUNTS, max_size=N_ACCOUNTS
        ),
        pa_mode=st.sampled_from(PA_MODES),
    )
    def create_groups(
        self,
        start: list[tuple[int, Decimal, str, int | None, str | None]],
        v2: list[tuple[dict[str, str], bool, str]],
        pa_mode: str,
    ) -> None:
        self.pa_mode = pa_mode
        self.figures[f"examples_position_after_{pa_mode}"] += 1
        for g in range(2):
            leader = f"{self.tag}-L{g}"
            group_id, token = self.pipeline.create_group(leader=leader, name=f"prop {g}")
            self.groups.append((group_id, token, leader))
        for a, settings_ in enumerate(start):  # most examples start with followers to copy to
            self.add_follower(settings_[0], a, *settings_[1:], *v2[a])

    def _non_members(self) -> list[int]:
        return [a for a in range(N_ACCOUNTS) if self.account(a) not in self.members]

    def _has_members(self) -> bool:
        return bool(self.members)

    def _has_non_members(self) -> bool:
        return bool(self._non_members())

    @precondition(_has_non_members)
    @rule(
        g=st.integers(0, 1),
        data=st.data(),
        multiplier=multipliers,
        rounding=roundings,
        max_qty=max_qtys,
        simulate=simulates,
        v2=st.tuples(symbol_maps, st.booleans(), copy_modes),
    )
    def join(
        self,
        g: int,
        data: st.DataObject,
        multiplier: Decimal,
        rounding: str,
        max_qty: int | None,
        simulate: str | None,
        v2: tuple[dict[str, str], bool, str],
    ) -> None:
        account = data.draw(st.sampled_from(self._non_members()))
        self.add_follower(g, account, multiplier, rounding, max_qty, simulate, *v2)

    def add_follower(
        self,
        g: int,
        a: int,
        multiplier: Decimal,
        rounding: str,
        max_qty: int | None,
        simulate: str | None,
        symbol_map: dict[str, str],
        inverse: bool,
        copy_mode: str,
    ) -> None:
        account_id = self.account(a)
        body = {
            "account_id": account_id,
            "multiplier": float(multiplier),
            "rounding": rounding,
            "max_qty": max_qty,
            "simulate": simulate,
            "symbol_map": symbol_map,
            "inverse": inverse,
            "copy_mode": copy_mode,
            "max_delay_ms": None,  # timing never makes a copy stale here
        }
        reply = self.pipeline.call("POST", f"/groups/{self.groups[g][0]}/followers", body)
        self.figures["admin_operations"] += 1
        assert reply.status == 201, reply.body
        assert Decimal(str(reply.body["multiplier"])) == multiplier
        assert (reply.body["symbol_map"], reply.body["inverse"], reply.body["copy_mode"]) == (
            symbol_map,
            inverse,
            copy_mode,
        ), reply.body
        model = FollowerModel(g, multiplier, rounding, max_qty, simulate, symbol_map, inverse, copy_mode)
        model.tracked = model.may_track and not self._holds_anything(account_id)  # a rejoin may hold
        self.members[account_id] = model
        self.used.add(account_id)

    def _holds_anything(self, account_id: str) -> bool:
        return any(q for (a, _), q in self.positions.items() if a == account_id)

    def _member(self, data: st.DataObject) -> tuple[str, FollowerModel]:
        account_id = data.draw(st.sampled_from(sorted(self.members)))
        return account_id, self.members[account_id]

    @precondition(_has_members)
    @rule(g=st.integers(0, 1), data=st.data())
    def join_a_second_time(self, g: int, data: st.DataObject) -> None:
        account_id, _ = self._member(data)  # in this group or the other one: never two groups
        reply = self.pipeline.call(
            "POST", f"/groups/{self.groups[g][0]}/followers", {"account_id": account_id}
        )
        assert (reply.status, reply.body["error"]["code"]) == (409, "account_in_use"), reply.body
        self.figures["admin_operations"] += 1
        self.figures["refusals_checked"] += 1

    @rule(g=st.integers(0, 1), h=st.integers(0, 1))
    def add_a_leader_as_follower(self, g: int, h: int) -> None:
        leader = self.groups[h][2]
        reply = self.pipeline.call("POST", f"/groups/{self.groups[g][0]}/followers", {"account_id": leader})
        assert (reply.status, reply.body["error"]["code"]) == (409, "account_in_use"), reply.body
        self.figures["admin_operations"] += 1
        self.figures["refusals_checked"] += 1

    @precondition(_has_members)
    @rule(data=st.data())
    def remove_follower(self, data: st.DataObject) -> None:
        account_id, model = self._member(data)
        reply = self.pipeline.call("DELETE", self._follower_path(account_id))
        self.figures["admin_operations"] += 1
        assert reply.status == 204, reply.body
        del self.members[account_id]
        for event in model.queue:  # never delivered: the copy log says why
            self.to_check.append((model.group, event["event_id"], account_id, "skipped", None))

    @precondition(_has_members)
    @rule(
        data=st.data(),
        changes=st.fixed_dictionaries(
            {},
            optional={
                "multiplier": multipliers,
                "rounding": roundings,
                "max_qty": max_qtys,
                "simulate": simulates,
                "symbol_map": symbol_maps,
                "inverse": st.booleans(),
                "copy_mode": copy_modes,
            },
        ),
    )
    def change_settings(self, data: st.DataObject, changes: dict[str, Any]) -> None:
        account_id, model = self._member(data)
        body = {k: float(v) if isinstance(v, Decimal) else v for k, v in changes.items()}
        reply = self.pipeline.call("PATCH", self._follower_path(account_id), body)
        self.figures["admin_operations"] += 1
        assert reply.status == 200, reply.body
        if any(getattr(model, name) != changes[name] for name in MAPPING_SETTINGS if name in changes):
            model.tracked = False  # its positions no longer mirror the leader's: until it is flat
        for name, value in changes.items():
            setattr(model, name, value)
        if not model.may_track:
            model.tracked = False

    @precondition(_has_members)
    @rule(data=st.data(), lock=st.booleans())
    def lock_or_unlock(self, data: st.DataObject, lock: bool) -> None:
        account_id, model = self._member(data)
        path = self._follower_path(account_id) + ("/lock" if lock else "/unlock")
        reply = self.pipeline.call("POST", path, {"reason": "daily loss limit"} if lock else None)
        self.figures["admin_operations"] += 1
        assert reply.status == 200 and reply.body["state"] == ("locked" if lock else "active"), reply.body
        model.locked = lock

    @precondition(_has_non_members)
    @rule(data=st.data(), g=st.integers(0, 1), op=st.sampled_from(["DELETE", "PATCH", "lock", "unlock"]))
    def act_on_a_non_member(self, data: st.DataObject, g: int, op: str) -> None:
        account_id = self.account(data.draw(st.sampled_from(self._non_members())))
        path = f"/groups/{self.groups[g][0]}/followers/{account_id}"
        if op in ("lock", "unlock"):
            reply = self.pipeline.call("POST", f"{path}/{op}", {"reason": "x"} if op == "lock" else None)
        else:
            reply = self.pipeline.call(op, path, {"multiplier": 2} if op == "PATCH" else None)
        assert (reply.status, reply.body["error"]["code"]) == (404, "not_found"), reply.body
        self.figures["admin_operations"] += 1
        self.figures["refusals_checked"] += 1

    # --- leader events ---------------------------------------------------------------------------

    def _send(self, g: int, event: dict[str, Any]) -> None:
        group_id, token, _ = self.groups[g]
        reply = self.pipeline.send(group_id, token, **event)
        assert (reply.status, reply.body["status"]) == (202, "accepted"), reply.body
        self.figures["events_sent"] += 1
        self.sent.append((g, event))
        self.copy_sets[event["event_id"]] = set()
        for account_id, model in self.members.items():
            if model.group == g:
                model.queue.append(event)
                self.copy_sets[event["event_id"]].add(account_id)

    @rule(
        g=st.integers(0, 1),
        orders=st.lists(
            st.tuples(
                st.sampled_from(["buy", "sell"]),
                st.integers(1, 6),
                st.sampled_from(SYMBOLS),
                st.booleans(),  # the leader also sends the order's order.filled
                st.booleans(),  # with pa_mode "some": this order carries position_after
            ),
            min_size=1,
            max_size=3,
        ),
    )
    def send_market(self, g: int, orders: list[tuple[str, int, str, bool, bool]]) -> None:
        for side, qty, symbol, filled, with_after in orders:
            self.n += 1
            order_id = f"{self.tag}-O{self.n}"
            self.leader_positions[g, symbol] += qty if side == "buy" else -qty
            after = self.leader_positions[g, symbol]
            fields = (
                {"position_after": after}
                if self.pa_mode == "all" or (self.pa_mode == "some" and with_after)
                else {}
            )
            price = 100 + self.n
            self._send(g, market(f"{self.tag}-E{self.n}", order_id, qty, side, symbol, price, **fields))
            self.leader_orders.append((g, order_id))
            if filled:
                fill = order_filled(
                    f"{self.tag}-E{self.n}-f",
                    order_id,
                    qty=qty,
                    price=price,
                    side=side,
                    symbol=symbol,
                    **fields,
                )
                self._send(g, fill)

    @rule(g=st.integers(0, 1), symbol=st.sampled_from(SYMBOLS))
    def send_flatten(self, g: int, symbol: str) -> None:
        self.n += 1
        self.leader_positions[g, symbol] = 0
        self._send(g, flatten(f"{self.tag}-E{self.n}", symbol))

    @rule(data=st.data(), g=st.integers(0, 1))
    def send_cancel(self, data: st.DataObject, g: int) -> None:
        """A cancel of a leader order already filled (a market order), or of one never sent."""
        sent = [order_id for h, order_id in self.leader_orders if h == g]
        order_id = data.draw(st.sampled_from([*sent, f"{self.tag}-never-placed"]))
        self.n += 1
        self._send(g, order_cancelled(f"{self.tag}-E{self.n}", order_id))

    @rule(data=st.data())
    def resend_an_event(self, data: st.DataObject) -> None:
        if not self.sent:
            return
        g, event = data.draw(st.sampled_from(self.sent))
        group_id, token, _ = self.groups[g]
        reply = self.pipeline.send(group_id, token, **event)
        assert (reply.status, reply.body["status"]) == (200, "duplicate"), reply.body
        self.figures["events_sent"] += 1
        self.figures["duplicate_events_sent"] += 1

    # --- delivery and the checks -----------------------------------------------------------------

    @precondition(lambda self: any(model.queue for model in self.members.values()))
    @rule()
    def deliver(self) -> None:
        self.pipeline.deliver()
        for account_id, model in self.members.items():
            for event in model.queue:
                status, qty = self._apply(account_id, model, event)
                self.to_check.append((model.group, event["event_id"], account_id, status, qty))
            model.queue.clear()
        self.check()

    def _apply(self, account_id: str, model: FollowerModel, event: dict[str, Any]) -> tuple[str, int | None]:
        """The model's copy of one event onto one follower: (status, qty of a placed order)."""
        kind = event["type"]
        if kind == "position.flattened":  # exits are never blocked, not even by a lock
            key = (account_id, mapped(event["symbol"], model.symbol_map))
            if model.simulate == "reject":
                return "rejected", None
            if self.positions[key]:
                self.orders[account_id] += 1
            self.positions[key] = 0
            return "placed", None
        if (kind == "order.filled") != (model.copy_mode == "fills"):
            return "skipped", None  # "leader fill" in copy mode orders; "copy mode fills" else
        if kind == "order.cancelled":
            if model.locked or (account_id, event["order_id"]) not in self.links:
                return "skipped", None
            return "rejected", None  # the follower's market order filled already: nothing to cancel
        return self._apply_entry(account_id, model, event)

    def _apply_entry(
        self, account_id: str, model: FollowerModel, event: dict[str, Any]
    ) -> tuple[str, int | None]:
        key = (account_id, mapped(event["symbol"], model.symbol_map))
        side = (1 if event["side"] == "buy" else -1) * (-1 if model.inverse else 1)
        signed = plan_entry(model, self.positions[key], side, event["qty"], event.get("position_after"))
        if signed == 0:
            return "skipped", None
        self.orders[account_id] += 1  # a rejected order is an order too (the broker lists it)
        if model.simulate == "reject":
            return "rejected", None
        self.positions[key] += signed
        self.links.add((account_id, event["order_id"]))
        return "placed", abs(signed)

    def check(self) -> None:
        self._check_copies()
        held = self._check_accounts()
        self._check_groups()
        self._check_v2(held)
        self.figures["checks"] += 1

    def _check_copies(self) -> None:
        figures = self.figures
        fetched: dict[str, dict[str, dict[str, Any]]] = {}
        for g, event_id, account_id, status, qty in self.to_check:
            if event_id not in fetched:  # one copy per follower it was accepted for, no more, no less
                fetched[event_id] = self.pipeline.copies(self.groups[g][0], event_id)
                assert set(fetched[event_id]) == self.copy_sets[event_id], (event_id, fetched[event_id])
            copy = fetched[event_id].get(account_id)
            figures["copies_checked"] += 1
            got = None if copy is None else (copy["status"], copy["qty"] if qty is not None else None)
            if got != (status, qty):
                figures["copy_mismatches"] += 1
            assert got == (status, qty), (event_id, account_id, copy, status, qty)
        self.to_check.clear()

    def _check_accounts(self) -> dict[str, dict[str, int]]:
        """Every account's orders and positions against the model; returns the positions."""
        figures = self.figures
        held: dict[str, dict[str, int]] = {}
        for account_id in sorted(self.used):
            orders = self.pipeline.orders(account_id)
            figures["orders_checked"] += len(orders)
            ids = Counter(order["client_order_id"] for order in orders)
            duplicates = sum(n - 1 for n in ids.values())
            figures["duplicate_orders"] += duplicates
            assert duplicates == 0, orders
            assert len(orders) == self.orders[account_id], (account_id, orders, self.orders[account_id])
            self._check_order_sizes(account_id, orders)
            want = {s: q for (a, s), q in self.positions.items() if a == account_id and q}
            figures["positions_checked"] += 1
            held[account_id] = self.pipeline.positions(account_id)
            if held[account_id] != want:
                figures["position_mismatches"] += 1
            assert held[account_id] == want, (account_id, held[account_id], want)
        return held

    def _check_order_sizes(self, account_id: str, orders: list[dict[str, Any]]) -> None:
        """The broker's new orders, replayed oldest first: none opens more than ``max_qty`` (the
        part that closes the position held at that moment may come on top: a reversal, an exit)."""
        seen, position = self.replayed.get(account_id, (0, Counter()))
        model = self.members.get(account_id)  # its settings of this delivery; new orders only then
        for order in reversed(orders[: len(orders) - seen]):  # newest first from the broker
            held = position[order["symbol"]]
            side = 1 if order["side"] == "buy" else -1
            closing = min(order["qty"], abs(held)) if sign(held) == -side else 0
            if model is not None and model.max_qty is not None:
                self.figures["order_caps_checked"] += 1
                if order["qty"] - closing > model.max_qty:
                    self.figures["orders_over_max_qty"] += 1
                assert order["qty"] - closing <= model.max_qty, (account_id, order, held, model.max_qty)
            if order["status"] == "filled":
                position[order["symbol"]] += side * order["qty"]
        self.replayed[account_id] = (len(orders), position)

    def _check_groups(self) -> None:
        figures = self.figures
        seen: Counter[str] = Counter()
        for g, (group_id, _, leader) in enumerate(self.groups):
            leader_orders = self.pipeline.orders(leader)
            figures["leader_orders"] += len(leader_orders)
            assert leader_orders == [], leader_orders
            group = self.pipeline.call("GET", f"/groups/{group_id}").body
            followers = {f["account_id"] for f in group["followers"]}
            assert followers == {a for a, m in self.members.items() if m.group == g}, followers
            seen.update([leader, *followers])
        assert all(n == 1 for n in seen.values()), seen  # one group per account, leaders included

    def _check_v2(self, held: dict[str, dict[str, int]]) -> None:
        """With every entry carrying position_after: a tracked follower (copy mode orders, market
        orders only) is flat whenever its leader is, and never on the other side of it."""
        for account_id, model in self.members.items():
            if not model.tracked and model.may_track and not self._holds_anything(account_id):
                model.tracked = True  # flat again with settings that mirror: from here on
            if self.pa_mode != "all" or not model.tracked:
                continue
            for symbol in SYMBOLS:
                leader = self.leader_positions[model.group, symbol]
                mine = held[account_id].get(mapped(symbol, model.symbol_map), 0) * (
                    -1 if model.inverse else 1
                )
                self.figures["flat_and_side_checks"] += 1
                if (leader == 0 and mine != 0) or sign(mine) == -sign(leader) != 0:
                    self.figures["flat_or_side_violations"] += 1
                assert not (leader == 0 and mine != 0), (account_id, symbol, leader, held[account_id])
                assert sign(mine) * sign(leader) >= 0, (account_id, symbol, leader, held[account_id])

    def teardown(self) -> None:
        if self.groups:
            self.deliver()
            for group_id, _, _ in self.groups:
                assert self.pipeline.call("DELETE", f"/groups/{group_id}").status == 204
        self.figures["examples"] += 1


def test_random_admin_operations_and_leader_events_keep_every_account_right(
    pipeline: Pipeline, figures: Counter[str]
) -> None:
    CopierMachine.pipeline = pipeline
    CopierMachine.figures = figures
    for name in (
        "duplicate_orders",
        "leader_orders",
        "position_mismatches",
        "copy_mismatches",
        "orders_over_max_qty",
        "flat_or_side_violations",
    ):
        figures[name] += 0
    run_state_machine_as_test(
        CopierMachine,
        settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None),
    )


def test_a_follower_with_max_qty_is_capped_through_the_pipeline(
    pipeline: Pipeline, figures: Counter[str]
) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", multiplier=3, max_qty=4)  # 201 expected
    pipeline.add_follower(group_id, "EVAL-2")
    assert pipeline.send(group_id, token, **market("E-1", qty=2)).status == 202
    pipeline.deliver()
    figures["events_sent"] += 1
    assert pipeline.positions("EVAL-1") == {"NQZ6": 4} and pipeline.positions("EVAL-2") == {"NQZ6": 2}
