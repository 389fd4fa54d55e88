"""Preview (API.md v2 "Preview"): what each follower of a group would do with a leader event now.

The executor's own decision code on current state: ``decide()`` with the follower, its account
claim and order link (the executor's one read), the broker position when the decision needs it,
then the opening rules. Nothing is sent to a broker (no order, no price mark), recorded or
published; the risk state a copy would count is discarded. Loss rules are not previewed: they act
on a fill or a price mark, which a preview never makes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tradecopier.brokers.base import BrokerAccount, BrokerError
from tradecopier.dal.copier import CopierStore, CopyInputs, copy_order_id
from tradecopier.domain.accounts import Follower
from tradecopier.domain.decide import (
    Cancel,
    CopyDecision,
    Flatten,
    Modify,
    NeedPosition,
    NoCopy,
    Place,
    decide,
    is_follower_of,
)
from tradecopier.domain.enums import CopyStatus
from tradecopier.domain.errors import NotFound
from tradecopier.domain.events import AcceptedEvent, LeaderEvent, PositionFlattened
from tradecopier.logic import risk

Action = Literal["place", "modify", "cancel", "flatten", "none"]


@dataclass(frozen=True, slots=True)
class PreviewCopy:
    account_id: str
    status: CopyStatus
    action: Action
    symbol: str | None = None
    side: str | None = None
    qty: int | None = None
    reason: str | None = None


def preview_event(
    store: CopierStore,
    open_broker: Callable[[Follower], BrokerAccount],
    group_id: str,
    event: LeaderEvent,
    now: datetime,
) -> list[PreviewCopy]:
    """One answer per follower the event would reach (the provisioned ones, as ingest copies to)."""
    group = store.get_group(group_id)
    if group is None:
        raise NotFound(f"group {group_id} does not exist")
    accepted = AcceptedEvent(group_id=group_id, received_at=now, event=event)
    leader_order_id = None if isinstance(event, PositionFlattened) else event.order_id
    answers = []
    for follower in group.provisioned_followers:
        inputs = store.load_copy_inputs(
            group_id,
            follower.account_id,
            event.event_id,
            leader_order_id,
            placed=copy_order_id(accepted) is not None,
        )
        current = inputs.follower
        decision = decide(accepted, current, inputs.claim, inputs.link, now=now)
        if (
            current is not None
            and is_follower_of(inputs.claim, group_id)
            and not isinstance(decision, NoCopy)
        ):
            decision = _within_rules(accepted, current, inputs, decision, open_broker, now)
        answers.append(_answer(follower.account_id, decision))
    return answers


def _within_rules(
    accepted: AcceptedEvent,
    follower: Follower,
    inputs: CopyInputs,
    decision: CopyDecision | NeedPosition,
    open_broker: Callable[[Follower], BrokerAccount],
    now: datetime,
) -> CopyDecision:
    holdings: Mapping[str, int] = {}
    if isinstance(decision, NeedPosition):
        try:
            position, holdings = risk.position_and_holdings(follower, open_broker(follower), decision.symbol)
        except BrokerError as error:
            return NoCopy(CopyStatus.SKIPPED, f"broker could not be asked for the position: {error}")
        decision = decide(accepted, follower, inputs.claim, inputs.link, now=now, position=position)
    assert not isinstance(decision, NeedPosition)
    if isinstance(decision, Place):
        decision, _ = risk.apply_opening_rules(decision, follower, holdings, now)
    return decision


def _answer(account_id: str, decision: CopyDecision | NeedPosition) -> PreviewCopy:
    placed = CopyStatus.PLACED
    if isinstance(decision, Place):
        order = decision.order
        return PreviewCopy(account_id, placed, "place", order.symbol, order.side, order.qty, decision.reason)
    if isinstance(decision, Modify):
        return PreviewCopy(account_id, placed, "modify", decision.link.symbol, qty=decision.command.qty)
    if isinstance(decision, Cancel):
        return PreviewCopy(account_id, placed, "cancel", decision.link.symbol, reason=decision.reason)
    if isinstance(decision, Flatten):
        return PreviewCopy(account_id, placed, "flatten", decision.symbol, reason=decision.reason)
    assert isinstance(decision, NoCopy)
    return PreviewCopy(account_id, decision.status, "none", reason=decision.reason)
