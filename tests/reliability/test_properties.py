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

from devstack.samples import market
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


def expected_qty(leader_qty: int, multiplier: Decimal, rounding: str, max_qty: int | None) -> int:
    """API.md's sizing, written out again here (not imported from the copier)."""
    qty = int((Decimal(leader_qty) * multiplier).quantize(Decimal(1), rounding=ROUNDING[rounding]))
    return min(qty, max_qty) if max_qty is not None else qty


@dataclass
class FollowerModel:
    group: int
    multiplier: Decimal = Decimal(1)
    rounding: str = "half_up"
    max_qty: int | None = None
    simulate: str | None = None
    locked: bool = False
    queue: list[dict[str, Any]] = field(default_factory=list)  # accepted, not yet delivered


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

    def account(self, index: int) -> str:
        return f"{self.tag}-F{index}"

    def _follower_path(self, account_id: str) -> str:
        return f"/groups/{self.groups[self.members[account_id].group][0]}/followers/{account_id}"

    # --- admin operations ------------------------------------------------------------------------

    @initialize(
        start=st.lists(
            st.tuples(st.integers(0, 1), multipliers, roundings, max_qtys, simulates), max_size=N_ACCOUNTS
        )
    )
    def create_groups(self, start: list[tuple[int, Decimal, str, int | None, str | None]]) -> None:
        for g in range(2):
            leader = f"{self.tag}-L{g}"
            group_id, token = self.pipeline.create_group(leader=leader, name=f"prop {g}")
            self.groups.append((group_id, token, leader))
        for a, settings_ in enumerate(start):  # most examples start with followers to copy to
            self.add_follower(settings_[0], a, *settings_[1:])

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
    )
    def join(
        self,
        g: int,
        data: st.DataObject,
        multiplier: Decimal,
        rounding: str,
        max_qty: int | None,
        simulate: str | None,
    ) -> None:
        self.add_follower(
            g, data.draw(st.sampled_from(self._non_members())), multiplier, rounding, max_qty, simulate
        )

    def add_follower(
        self, g: int, a: int, multiplier: Decimal, rounding: str, max_qty: int | None, simulate: str | None
    ) -> None:
        account_id = self.account(a)
        body = {
            "account_id": account_id,
            "multiplier": float(multiplier),
            "rounding": rounding,
            "max_qty": max_qty,
            "simulate": simulate,
        }
        reply = self.pipeline.call("POST", f"/groups/{self.groups[g][0]}/followers", body)
        self.figures["admin_operations"] += 1
        assert reply.status == 201, reply.body
        assert Decimal(str(reply.body["multiplier"])) == multiplier
        self.members[account_id] = FollowerModel(g, multiplier, rounding, max_qty, simulate)
        self.used.add(account_id)

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
            },
        ),
    )
    def change_settings(self, data: st.DataObject, changes: dict[str, Any]) -> None:
        account_id, model = self._member(data)
        body = {k: float(v) if isinstance(v, Decimal) else v for k, v in changes.items()}
        reply = self.pipeline.call("PATCH", self._follower_path(account_id), body)
        self.figures["admin_operations"] += 1
        assert reply.status == 200, reply.body
        for name, value in changes.items():
            setattr(model, name, value)

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
            st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 6), st.sampled_from(SYMBOLS)),
            min_size=1,
            max_size=3,
        ),
    )
    def send_market(self, g: int, orders: list[tuple[str, int, str]]) -> None:
        for side, qty, symbol in orders:
            self.n += 1
            event = market(f"{self.tag}-E{self.n}", qty=qty, side=side, symbol=symbol, price=100 + self.n)
            self._send(g, event)

    @rule(g=st.integers(0, 1), symbol=st.sampled_from(SYMBOLS))
    def send_flatten(self, g: int, symbol: str) -> None:
        self.n += 1
        self._send(g, flatten(f"{self.tag}-E{self.n}", symbol))

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
        key = (account_id, event["symbol"])
        if event["type"] == "position.flattened":  # exits are never blocked, not even by a lock
            if model.simulate == "reject":
                return "rejected", None
            if self.positions[key]:
                self.orders[account_id] += 1
            self.positions[key] = 0
            return "placed", None
        if model.locked:
            return "skipped", None
        qty = expected_qty(event["qty"], model.multiplier, model.rounding, model.max_qty)
        if qty == 0:
            return "skipped", None
        self.orders[account_id] += 1  # a rejected order is an order too (the broker lists it)
        if model.simulate == "reject":
            return "rejected", None
        self.positions[key] += qty if event["side"] == "buy" else -qty
        return "placed", qty

    def check(self) -> None:
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
        for account_id in sorted(self.used):
            orders = self.pipeline.orders(account_id)
            figures["orders_checked"] += len(orders)
            ids = Counter(order["client_order_id"] for order in orders)
            duplicates = sum(n - 1 for n in ids.values())
            figures["duplicate_orders"] += duplicates
            assert duplicates == 0, orders
            assert len(orders) == self.orders[account_id], (account_id, orders, self.orders[account_id])
            want = {s: q for (a, s), q in self.positions.items() if a == account_id and q}
            figures["positions_checked"] += 1
            got_positions = self.pipeline.positions(account_id)
            if got_positions != want:
                figures["position_mismatches"] += 1
            assert got_positions == want, (account_id, got_positions, want)
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
        figures["checks"] += 1

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
    for name in ("duplicate_orders", "leader_orders", "position_mismatches", "copy_mismatches"):
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
