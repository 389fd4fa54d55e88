"""Property test of the risk engine through the real handlers (ingest → queue → executor → paper
broker, DynamoDB Local + moto): random rules, random leader buys and sells, random price paths.

After every delivery, for the follower with rules (API.md v2 "Risk"):
- it never holds more than ``max_position`` contracts;
- it never opens or adds while ``liquidate_only`` or ``locked`` (a copy made in that state never
  grows its position);
- every breach ends flat and ``locked``: it is never left ``liquidate_only``, and once locked it
  holds nothing and has no working order.

Size: ``RISK_EXAMPLES`` examples of up to ``RISK_STEPS`` steps (5 × 8 in ``make test``;
``make reliability`` may set more).
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from devstack.samples import market, order_filled
from tests.pipeline import Pipeline

EXAMPLES = int(os.environ.get("RISK_EXAMPLES", "5"))
STEPS = int(os.environ.get("RISK_STEPS", "8"))
SYMBOL = "NQZ6"

rules = st.fixed_dictionaries(
    {"max_position": st.integers(1, 4)},
    optional={
        "daily_loss_limit": st.sampled_from([300, 600, 1000]),
        "trailing_drawdown": st.sampled_from([500, 1000]),
        "drawdown_mode": st.sampled_from(["intraday", "end_of_day"]),
        "max_trades_per_day": st.integers(2, 6),
    },
)
# A step: the leader buys or sells qty at the price moved by ``points``, or only the price moves.
steps = st.lists(
    st.tuples(st.sampled_from(["buy", "sell", "mark"]), st.integers(1, 3), st.integers(-30, 30)),
    min_size=1,
    max_size=STEPS,
)


def _held(pipeline: Pipeline, account: str) -> int:
    return sum(abs(qty) for qty in pipeline.positions(account).values())


def _state(pipeline: Pipeline, group_id: str, account: str) -> dict[str, Any]:
    return dict(pipeline.call("GET", f"/groups/{group_id}/followers/{account}").body)


def test_a_follower_with_rules_never_exceeds_them_and_every_breach_ends_flat_and_locked(
    pipeline: Pipeline, figures: Counter[str]
) -> None:
    figures["breaches_seen"] += 0

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(risk=rules, path=steps)
    def run(risk: dict[str, Any], path: list[tuple[str, int, int]]) -> None:
        group_id, token = pipeline.create_group(leader=f"LEAD-{uuid.uuid4().hex[:8]}")
        account = f"EVAL-{uuid.uuid4().hex[:8]}"
        pipeline.add_follower(group_id, account, risk=risk)
        price = 21000
        for index, (kind, qty, points) in enumerate(path):
            price += points
            before = _state(pipeline, group_id, account)
            held_before = _held(pipeline, account)
            event_id = f"E-{index}"
            if kind == "mark":
                event = order_filled(event_id, f"L-{index}", qty=1, price=price)
            else:
                event = market(event_id, f"L-{index}", qty=qty, side=kind, price=price)
            assert pipeline.send(group_id, token, **event).status == 202
            pipeline.deliver()
            figures["events_sent"] += 1
            held = _held(pipeline, account)
            after = _state(pipeline, group_id, account)
            copy = pipeline.copies(group_id, event_id)[account]
            assert held <= risk["max_position"], (risk, path[: index + 1], held)
            if before["state"] != "active" and copy["status"] == "placed":
                assert held <= held_before, (before["state"], copy, held_before, held)
            assert after["state"] != "liquidate_only", after
            if after["state"] == "locked":
                figures["breaches_seen"] += 1
                assert held == 0, (after, pipeline.positions(account))
                working = [o for o in pipeline.orders(account) if o["status"] == "working"]
                assert working == [], working
                assert after["lock_reason"].startswith("risk: ")

    run()
