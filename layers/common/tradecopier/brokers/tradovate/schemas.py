"""Tradovate's wire models (SW 2021 spec plus fields live servers add). Unknown fields are
ignored: live servers send more than the spec (§0 version note)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class AccessTokenResponse(Wire):
    error_text: str | None = Field(default=None, alias="errorText")
    access_token: str | None = Field(default=None, alias="accessToken")
    expiration_time: str | None = Field(default=None, alias="expirationTime")
    user_id: int | None = Field(default=None, alias="userId")
    p_ticket: str | None = Field(default=None, alias="p-ticket")
    p_time: float | None = Field(default=None, alias="p-time")
    p_captcha: bool | None = Field(default=None, alias="p-captcha")


class Account(Wire):
    id: int
    name: str
    active: bool = True


class Contract(Wire):
    id: int
    name: str
    contract_maturity_id: int | None = Field(default=None, alias="contractMaturityId")
    provider_tick_size: float | None = Field(default=None, alias="providerTickSize")


class Order(Wire):
    id: int
    account_id: int = Field(alias="accountId")
    contract_id: int | None = Field(default=None, alias="contractId")
    action: str
    ord_status: str = Field(alias="ordStatus")
    parent_id: int | None = Field(default=None, alias="parentId")
    oco_id: int | None = Field(default=None, alias="ocoId")
    linked_id: int | None = Field(default=None, alias="linkedId")


class OrderVersion(Wire):
    id: int
    order_id: int = Field(alias="orderId")
    order_qty: int = Field(alias="orderQty")
    order_type: str = Field(alias="orderType")
    price: float | None = None
    stop_price: float | None = Field(default=None, alias="stopPrice")
    text: str | None = None


class Fill(Wire):
    id: int
    order_id: int = Field(alias="orderId")
    qty: int
    price: float
    active: bool = True


class Position(Wire):
    id: int
    account_id: int = Field(alias="accountId")
    contract_id: int = Field(alias="contractId")
    net_pos: int = Field(alias="netPos")
    net_price: float | None = Field(default=None, alias="netPrice")


class CashBalanceSnapshot(Wire):
    error_text: str | None = Field(default=None, alias="errorText")
    total_cash_value: float | None = Field(default=None, alias="totalCashValue")
    net_liq: float | None = Field(default=None, alias="netLiq")
    open_pnl: float | None = Field(default=None, alias="openPnL")
    realized_pnl: float | None = Field(default=None, alias="realizedPnL")


class CashBalance(Wire):
    account_id: int = Field(alias="accountId")
    amount: float


class PlaceOrderResult(Wire):
    order_id: int | None = Field(default=None, alias="orderId")
    oso1_id: int | None = Field(default=None, alias="oso1Id")
    oso2_id: int | None = Field(default=None, alias="oso2Id")


class CommandResult(Wire):
    command_id: int | None = Field(default=None, alias="commandId")
