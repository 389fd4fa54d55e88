"""Sync routes of API.md v2: ``GET /groups/{id}/sync`` (checked live now, reports only), ``POST
/groups/{id}/sync`` (checks now and applies each follower's ``sync_policy``, as the schedule does)
and ``GET /groups/{id}/followers/{account}/sync-history``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from tradecopier.api.schemas import error_responses
from tradecopier.domain.sync_settings import SyncStatus
from tradecopier.domain.types import StrictModel
from tradecopier.logic import admin
from tradecopier.logic.services import admin_services
from tradecopier.logic.sync import GroupReport, check_group, registry_brokers

router = Router()


class SymbolSyncView(StrictModel):
    symbol: str = Field(description="the follower's (mapped) symbol")
    leader_qty: int | None
    expected_qty: int | None
    actual_qty: int | None
    status: SyncStatus


class FollowerSyncView(StrictModel):
    account_id: str
    status: SyncStatus
    symbols: list[SymbolSyncView]
    actions: list[dict[str, Any]] = Field(
        default_factory=list, description="POST only: what each policy did (also in the sync history)"
    )


class GroupSyncView(StrictModel):
    group_id: str
    checked_at: datetime
    followers: list[FollowerSyncView]


class SyncHistory(StrictModel):
    group_id: str
    account_id: str
    entries: list[dict[str, Any]] = Field(
        description="newest first: catch-up orders and reports, with the figures that justified them"
    )


def _view(report: GroupReport) -> GroupSyncView:
    return GroupSyncView(
        group_id=report.group_id,
        checked_at=report.checked_at,
        followers=[
            FollowerSyncView(
                account_id=follower.account_id,
                status=follower.status,
                symbols=[
                    SymbolSyncView(
                        symbol=s.symbol,
                        leader_qty=s.leader_qty,
                        expected_qty=s.expected_qty,
                        actual_qty=s.actual_qty,
                        status=s.status,
                    )
                    for s in follower.symbols
                ],
                actions=follower.actions,
            )
            for follower in report.followers
        ],
    )


def _check(group_id: str, *, act: bool) -> GroupSyncView:
    services = admin_services()
    group = admin.load_group(services, group_id)
    brokers = registry_brokers(services.settings)
    return _view(check_group(services.store, group, brokers, now=services.clock(), act=act))


@router.get("/groups/<group_id>/sync", tags=["sync"], responses=error_responses(404, ok=GroupSyncView))
def get_sync(group_id: str) -> GroupSyncView:
    return _check(group_id, act=False)


@router.post("/groups/<group_id>/sync", tags=["sync"], responses=error_responses(404, ok=GroupSyncView))
def run_sync(group_id: str) -> GroupSyncView:
    return _check(group_id, act=True)


@router.get(
    "/groups/<group_id>/followers/<account_id>/sync-history",
    tags=["sync"],
    responses=error_responses(404, ok=SyncHistory),
)
def sync_history(
    group_id: str, account_id: str, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> SyncHistory:
    services = admin_services()
    account_id = unquote(account_id)
    admin.get_follower(services, group_id, account_id)  # 404 for an unknown group or follower
    entries = services.store.sync_history(group_id, account_id, limit)
    return SyncHistory(group_id=group_id, account_id=account_id, entries=[_plain(e) for e in entries])


def _plain(entry: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB numbers come back as Decimal; the entries hold only integer numbers (prices are
    stored as text, exactly)."""
    return {key: int(value) if isinstance(value, Decimal) else value for key, value in entry.items()}
