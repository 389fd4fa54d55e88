"""What the risk engine remembers per follower, what it needs from a broker, and what the API shows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, Field, PlainSerializer, StrictInt, field_validator

from tradecopier.domain.types import StrictModel, Symbol, as_number

# Any signed USD amount; not limited to cents because P&L at an untruncated mark price may not be.
Amount = Annotated[Decimal, Field(allow_inf_nan=False), PlainSerializer(as_number, when_used="json")]
TradeCount = Annotated[StrictInt, Field(ge=0)]


class RiskState(StrictModel):
    """A follower's risk state between calls: persisted with the follower in DynamoDB and read in the
    executor's one read, because the rules depend on history no broker call returns (the high-water
    mark, trades opened this session, the balance the session opened at).

    ``balance`` is net of the fees the broker reported; ``realized_pnl`` is this session's
    (``balance - opening_balance``), so fees count in it without being counted twice.
    """

    session_started_at: AwareDatetime
    starting_balance: Amount = Field(description="the balance the account started at, or was reset to")
    opening_balance: Amount = Field(
        description="the balance when this session opened; the daily loss is measured from it"
    )
    balance: Amount = Field(description="the latest balance, after realized P&L and fees")
    realized_pnl: Amount = Field(default=Decimal(0), description="realized this session, fees included")
    unrealized_pnl: Amount = Field(default=Decimal(0), description="open P&L at the latest mark")
    trades_today: TradeCount = Field(default=0, description="copies that opened or added this session")
    high_water_mark: Amount = Field(description="the peak the trailing drawdown follows; never moves down")
    marked_at: AwareDatetime | None = None
    flat_by_checked_at: AwareDatetime | None = Field(
        default=None, description="the latest flat-by check, so a skipped minute still fires it once"
    )
    liquidation_id: str | None = Field(
        default=None,
        description="the breach being acted on (liquidate_only → flatten → locked): the flatten orders' "
        "client order ids derive from it, so a retry after a crash never closes twice",
    )


class AccountSnapshot(StrictModel):
    """What the engine needs from the follower's broker at one moment.

    ``balance`` is cash after realized P&L and the fees already charged (the paper broker's is the
    starting balance plus realized P&L). ``fees`` are this session's fees the broker reports but has
    not yet taken from the balance (0 when it has, or charges none): prop firms count them in P&L.
    """

    balance: Amount
    unrealized_pnl: Amount = Decimal(0)
    fees: Amount = Decimal(0)
    positions: Mapping[Symbol, StrictInt] = Field(
        default_factory=dict, description="symbol → signed qty, long > 0"
    )

    @field_validator("positions")
    @classmethod
    def _without_flat_symbols(cls, positions: Mapping[str, int]) -> dict[str, int]:
        return {symbol: qty for symbol, qty in positions.items() if qty != 0}

    @property
    def net_balance(self) -> Decimal:
        return self.balance - self.fees

    @property
    def equity(self) -> Decimal:
        """Balance plus open P&L, net of fees: what trailing drawdowns are judged on."""
        return self.net_balance + self.unrealized_pnl

    @property
    def is_flat(self) -> bool:
        return not self.positions


class RiskStatus(StrictModel):
    """API.md's ``risk_status`` on a follower; a figure no configured rule needs is null."""

    session_started_at: datetime
    balance: Amount | None = None
    realized_pnl: Amount | None = None
    unrealized_pnl: Amount | None = None
    session_pnl: Amount | None = None
    high_water_mark: Amount | None = None
    drawdown_floor: Amount | None = None
    trades_today: int | None = None
