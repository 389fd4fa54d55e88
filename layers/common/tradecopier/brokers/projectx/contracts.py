"""Symbol ↔ contract, cached per execution environment and gateway (§3.2).

``Contract/search`` (``searchText`` = the symbol, ``live: false``: sim/practice data, the
accounts copiers trade) is matched exactly, by the id derived from the symbol or by name —
never by the first hit (a search for ``NQ`` also returns ``MNQ``). ``Contract/searchById``
answers ``contract`` (SW2) or ``contracts`` (an old doc sample): both are read. Contract ids
never change, so the cache has no expiry; an unknown symbol is not cached.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

from tradecopier.brokers.base import BrokerRejected
from tradecopier.brokers.projectx import parsing
from tradecopier.brokers.projectx.http import ProjectXHttp
from tradecopier.brokers.projectx.schemas import Contract

_by_symbol: dict[tuple[str, str], Contract] = {}
_by_id: dict[tuple[str, str], Contract] = {}
_lock = threading.Lock()


class Contracts:
    def __init__(self, http: ProjectXHttp) -> None:
        self.http = http
        self.base = http.base_url

    def by_symbol(self, symbol: str) -> Contract:
        wanted = symbol.upper()
        with _lock:
            found = _by_symbol.get((self.base, wanted))
        if found is not None:
            return found
        derived = parsing.contract_id_of(wanted, datetime.now(UTC))
        body = self.http.post("Contract/search", {"searchText": wanted, "live": False})
        rows = [Contract.model_validate(row) for row in body.get("contracts") or []]
        match = next((c for c in rows if c.id == derived), None) or next(
            (c for c in rows if c.name.upper() == wanted), None
        )
        if match is None and derived is not None:
            match = self._fetch(derived)
        if match is None:
            raise BrokerRejected(f"unknown contract {symbol!r} at projectx")
        return self._keep(match, wanted)

    def by_id(self, contract_id: str) -> Contract:
        with _lock:
            found = _by_id.get((self.base, contract_id))
        if found is not None:
            return found
        fetched = self._fetch(contract_id)
        if fetched is None:
            return Contract(id=contract_id, name=parsing.symbol_of(contract_id))
        return self._keep(fetched, parsing.symbol_of(fetched.id, fetched.name))

    def symbol(self, contract_id: str) -> str:
        return parsing.symbol_of(contract_id, self.by_id(contract_id).name)

    def tick(self, symbol: str) -> Decimal | None:
        contract = self.by_symbol(symbol)
        return Decimal(repr(contract.tick_size)) if contract.tick_size else None

    def _fetch(self, contract_id: str) -> Contract | None:
        try:
            body = self.http.post("Contract/searchById", {"contractId": contract_id, "live": False})
        except BrokerRejected:  # errorCode 1 ContractNotFound
            return None
        one = body.get("contract")
        many = body.get("contracts")
        row = one if isinstance(one, dict) else (many[0] if isinstance(many, list) and many else None)
        return Contract.model_validate(row) if row else None

    def _keep(self, contract: Contract, symbol: str) -> Contract:
        with _lock:
            _by_symbol[(self.base, symbol.upper())] = contract
            _by_id[(self.base, contract.id)] = contract
        return contract


def clear_contracts() -> None:
    with _lock:
        _by_symbol.clear()
        _by_id.clear()
