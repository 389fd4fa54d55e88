"""Request and response bodies of API.md. Requests refuse unknown fields (422).

The ingest route's models and the error shape live in ``ingest_schemas`` (re-exported here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field, SecretStr, StrictBool, StrictInt, StringConstraints, model_validator

from tradecopier.api.ingest_schemas import (
    ErrorBody,
    ErrorInfo,
    EventAccepted,
    LeaderEventBody,
    OrderCancelledBody,
    OrderFilledBody,
    OrderModifiedBody,
    OrderPlacedBody,
    PositionFlattenedBody,
    WebhookToken,
    error_responses,
)
from tradecopier.brokers.base import BrokerOrder, BrokerPosition
from tradecopier.domain.accounts import Account, FollowerSettings, Group, MaxDelayMs
from tradecopier.domain.copies import CopyRecord
from tradecopier.domain.enums import BrokerName, CopyMode, Rounding, Side, Simulate
from tradecopier.domain.events import (
    LeaderEvent,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderPlaced,
    PositionFlattened,
)
from tradecopier.domain.risk.presets import Preset
from tradecopier.domain.risk.settings import Balance, ResolvedRisk
from tradecopier.domain.symbols import SymbolMap
from tradecopier.domain.sync_settings import MaxCatchupTicks, SyncPolicy
from tradecopier.domain.types import AccountId, Identifier, MaxQuantity, Multiplier, Reason, StrictModel

GroupName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class CreateGroupRequest(StrictModel):
    name: GroupName
    leader: Account


class CreatedGroup(Group):
    webhook_token: str = Field(description="the secret for the ingest route; shown only here")


class GroupList(StrictModel):
    groups: list[Group]


class AddFollowerRequest(FollowerSettings):
    account_id: AccountId
    broker: BrokerName = BrokerName.PAPER
    risk: ResolvedRisk | None = None  # the preset applied where the request leaves a field out


class UpdateFollowerRequest(StrictModel):
    """Only the fields present are changed; ``max_qty``/``simulate``/``max_delay_ms`` null clears
    them (no cap, no rehearsal, no stale limit)."""

    multiplier: Multiplier | None = None
    max_qty: MaxQuantity | None = None
    rounding: Rounding | None = None
    simulate: Simulate | None = None
    symbol_map: SymbolMap | None = None
    inverse: StrictBool | None = None
    copy_mode: CopyMode | None = None
    max_delay_ms: MaxDelayMs | None = None
    risk: ResolvedRisk | None = None  # null removes every rule
    sync_policy: SyncPolicy | None = None
    max_catchup_ticks: MaxCatchupTicks | None = None

    @model_validator(mode="after")
    def _required_fields_not_null(self) -> Self:
        for name in ("multiplier", "rounding", "symbol_map", "inverse", "copy_mode", *_SYNC_SETTINGS):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class PresetList(StrictModel):
    presets: list[Preset]


class RiskResetRequest(StrictModel):
    starting_balance: Balance | None = None


_SYNC_SETTINGS = ("sync_policy", "max_catchup_ticks")


class LockRequest(StrictModel):
    reason: Reason = "locked by the trader"


class TokenRotated(StrictModel):
    group_id: str
    webhook_token: str


# The preview body: a leader event as ingest takes it, without a token, its event_id optional.
PREVIEW_EVENT_ID = "preview"


class OrderPlacedPreview(OrderPlaced):
    event_id: Identifier = PREVIEW_EVENT_ID


class OrderModifiedPreview(OrderModified):
    event_id: Identifier = PREVIEW_EVENT_ID


class OrderCancelledPreview(OrderCancelled):
    event_id: Identifier = PREVIEW_EVENT_ID


class OrderFilledPreview(OrderFilled):
    event_id: Identifier = PREVIEW_EVENT_ID


class PositionFlattenedPreview(PositionFlattened):
    event_id: Identifier = PREVIEW_EVENT_ID


PreviewEventBody = Annotated[
    OrderPlacedPreview
    | OrderModifiedPreview
    | OrderCancelledPreview
    | OrderFilledPreview
    | PositionFlattenedPreview,
    Field(discriminator="type"),
]


class PreviewCopyOut(StrictModel):
    account_id: str
    status: Literal["placed", "skipped", "rejected"]
    action: Literal["place", "modify", "cancel", "flatten", "none"]
    symbol: str | None
    side: Side | None
    qty: int | None
    reason: str | None


class PreviewResult(StrictModel):
    copies: list[PreviewCopyOut]


class EventStatus(StrictModel):
    event_id: str
    type: str
    received_at: datetime
    copies: list[CopyRecord]
    event: LeaderEvent


class EventList(StrictModel):
    group_id: str
    events: list[EventStatus]


class Positions(StrictModel):
    account_id: str
    positions: list[BrokerPosition]


class Orders(StrictModel):
    account_id: str
    orders: list[BrokerOrder]


# --- broker credentials (API.md v2 "Real brokers and credentials") ----------------------------

HttpUrlText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=512, pattern=r"^https?://[^\s/?#@]+(/[^\s]*)?$")
]
WsUrlText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=512, pattern=r"^wss?://[^\s/?#@]+(/[^\s]*)?$")
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Secret64 = Annotated[SecretStr, Field(min_length=1, max_length=64)]
LongSecret = Annotated[SecretStr, Field(min_length=1, max_length=8192)]


class TradovateCredentialsRequest(StrictModel):
    """Tradovate API-key login (``auth/accesstokenrequest``: name, password, appId, appVersion,
    cid, sec, deviceId). ``environment`` picks the demo or live hosts; ``api_url`` (REST base,
    ending in ``/v1``) and ``ws_url`` override them."""

    broker: Literal["tradovate"]
    environment: Literal["demo", "live"] = "demo"
    api_url: HttpUrlText | None = None
    ws_url: WsUrlText | None = None
    username: Secret64
    password: Secret64
    app_id: ShortText
    app_version: ShortText = "1.0"
    cid: Annotated[StrictInt, Field(ge=0)] | Secret64
    sec: LongSecret
    device_id: ShortText | None = None
    broker_account: ShortText


class ProjectXCredentialsRequest(StrictModel):
    """ProjectX Gateway API-key login (``Auth/loginKey``: userName, apiKey); ``api_url`` is the
    firm's gateway, ``rtc_url`` defaults to the same host with ``api`` replaced by ``rtc`` and path
    ``/hubs/user``."""

    broker: Literal["projectx"]
    api_url: HttpUrlText
    rtc_url: HttpUrlText | WsUrlText | None = None
    username: Secret64
    api_key: LongSecret
    broker_account: ShortText


CredentialsRequest = Annotated[
    TradovateCredentialsRequest | ProjectXCredentialsRequest, Field(discriminator="broker")
]


def secret_values(request: TradovateCredentialsRequest | ProjectXCredentialsRequest) -> dict[str, Any]:
    """The request's fields with secrets revealed: only for writing them to Secrets Manager."""
    values: dict[str, Any] = {}
    for name in type(request).model_fields:
        value = getattr(request, name)
        values[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return values


class CredentialsInfo(StrictModel):
    """What may be shown of stored credentials: never a secret field."""

    account_id: str
    broker: BrokerName
    broker_account: str
    api_url: str | None = Field(description="the REST base the adapter uses")
    stored_at: str


class Connection(StrictModel):
    account_id: str
    broker: BrokerName
    status: Literal["connected", "auth_failed", "account_not_found", "unreachable", "simulated"]
    checked_at: datetime
    detail: str | None = None


class Health(StrictModel):
    status: Literal["ok"] = "ok"


__all__ = [
    "ErrorBody",
    "ErrorInfo",
    "EventAccepted",
    "LeaderEventBody",
    "OrderCancelledBody",
    "OrderFilledBody",
    "OrderModifiedBody",
    "OrderPlacedBody",
    "PositionFlattenedBody",
    "WebhookToken",
    "error_responses",
]
