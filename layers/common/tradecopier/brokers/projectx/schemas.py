"""ProjectX Gateway wire models (SW2 plus fields live servers add, §0 timeline). Unknown fields
are ignored and newer optional fields default: live order events omit null fields (§4.3)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Envelope(Wire):
    """Every answer (§3 conventions): HTTP 200 is not success, ``success`` is."""

    success: bool = False
    error_code: int | None = Field(default=None, alias="errorCode")
    error_message: str | None = Field(default=None, alias="errorMessage")


class LoginResponse(Envelope):
    token: str | None = None


class ValidateResponse(Envelope):
    new_token: str | None = Field(default=None, alias="newToken")


class TradingAccount(Wire):
    id: int
    name: str
    balance: float = 0.0
    can_trade: bool = Field(default=True, alias="canTrade")
    is_visible: bool = Field(default=True, alias="isVisible")
    simulated: bool | None = None  # doc samples omit it (§3.1)


class Contract(Wire):
    id: str
    name: str
    description: str = ""
    tick_size: float | None = Field(default=None, alias="tickSize")
    tick_value: float | None = Field(default=None, alias="tickValue")
    active_contract: bool = Field(default=True, alias="activeContract")
    symbol_id: str | None = Field(default=None, alias="symbolId")


class Order(Wire):
    id: int
    account_id: int = Field(alias="accountId")
    contract_id: str = Field(alias="contractId")
    status: int
    type: int
    side: int
    size: int
    limit_price: float | None = Field(default=None, alias="limitPrice")
    stop_price: float | None = Field(default=None, alias="stopPrice")
    fill_volume: int = Field(default=0, alias="fillVolume")
    filled_price: float | None = Field(default=None, alias="filledPrice")
    custom_tag: str | None = Field(default=None, alias="customTag")
    creation_timestamp: str | None = Field(default=None, alias="creationTimestamp")
    parent_order_id: int | None = Field(default=None, alias="parentOrderId")
    linked_order_id: int | None = Field(default=None, alias="linkedOrderId")


class Position(Wire):
    id: int
    account_id: int = Field(alias="accountId")
    contract_id: str = Field(alias="contractId")
    type: int
    size: int
    average_price: float | None = Field(default=None, alias="averagePrice")


class Trade(Wire):
    id: int
    account_id: int = Field(alias="accountId")
    contract_id: str = Field(alias="contractId")
    price: float
    profit_and_loss: float | None = Field(default=None, alias="profitAndLoss")
    fees: float = 0.0
    commissions: float = 0.0  # newer, separate from fees (§3.8)
    side: int
    size: int
    voided: bool = False
    order_id: int = Field(alias="orderId")


class PlaceOrderResponse(Envelope):
    order_id: int | None = Field(default=None, alias="orderId")
