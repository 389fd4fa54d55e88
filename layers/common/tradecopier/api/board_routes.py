"""``GET /groups/{group_id}/positions``: every follower's positions in one call (what the board and
``tradecopier status`` show; an addition to API.md, v1 and v2 routes unchanged)."""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import Field

from tradecopier.api.schemas import error_responses
from tradecopier.brokers.base import BrokerPosition
from tradecopier.domain.types import StrictModel
from tradecopier.logic.board import group_positions
from tradecopier.logic.services import admin_services

router = Router()


class FollowerPositionsView(StrictModel):
    account_id: str
    broker: str
    positions: list[BrokerPosition] | None = Field(
        description="as GET /accounts/{account_id}/positions gives them; null when the broker did not answer"
    )
    error: str | None = Field(description="why the broker did not answer; null when it did")


class GroupPositions(StrictModel):
    group_id: str
    followers: list[FollowerPositionsView]


@router.get(
    "/groups/<group_id>/positions", tags=["accounts"], responses=error_responses(404, ok=GroupPositions)
)
def positions_of_group(group_id: str) -> GroupPositions:
    gid = unquote(group_id)
    return GroupPositions(
        group_id=gid,
        followers=[
            FollowerPositionsView(
                account_id=entry.account_id, broker=entry.broker, positions=entry.positions, error=entry.error
            )
            for entry in group_positions(admin_services(), gid)
        ],
    )
