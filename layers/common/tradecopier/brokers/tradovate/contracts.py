"""Symbol ↔ contract id, cached per execution environment and REST base (§3.2).

The API's symbols (``NQZ6``) are Tradovate contract names already (product code + month letter +
one-digit year); ``contract/find?name=`` gives the id that ``liquidateposition`` and positions
use. Contracts never change id, so the cache has no expiry; an unknown name is not cached.
"""

from __future__ import annotations

import threading
from decimal import Decimal

from tradecopier.brokers.base import BrokerRejected
from tradecopier.brokers.tradovate.http import TradovateHttp
from tradecopier.brokers.tradovate.schemas import Contract

_by_name: dict[tuple[str, str], Contract] = {}
_by_id: dict[tuple[str, int], Contract] = {}
_lock = threading.Lock()


class Contracts:
    def __init__(self, http: TradovateHttp) -> None:
        self.http = http
        self.base = http.base_url

    def by_symbol(self, symbol: str) -> Contract:
        key = (self.base, symbol.upper())
        with _lock:
            found = _by_name.get(key)
        if found is not None:
            return found
        body = self.http.get("contract/find", not_found=True, name=symbol.upper())
        if not body:
            raise BrokerRejected(f"unknown contract {symbol!r} at tradovate")
        return self._keep(Contract.model_validate(body))

    def by_id(self, contract_id: int) -> Contract:
        with _lock:
            found = _by_id.get((self.base, contract_id))
        if found is not None:
            return found
        body = self.http.get("contract/item", not_found=True, id=contract_id)
        if not body:
            return Contract(id=contract_id, name=f"contract-{contract_id}")
        return self._keep(Contract.model_validate(body))

    def tick(self, symbol: str) -> Decimal | None:
        contract = self.by_symbol(symbol)
        return Decimal(str(contract.provider_tick_size)) if contract.provider_tick_size else None

    def _keep(self, contract: Contract) -> Contract:
        with _lock:
            _by_name[(self.base, contract.name.upper())] = contract
            _by_id[(self.base, contract.id)] = contract
        return contract


def clear_contracts() -> None:
    with _lock:
        _by_name.clear()
        _by_id.clear()
