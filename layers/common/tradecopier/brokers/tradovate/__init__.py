"""Tradovate (demo and live): the adapter of API.md's ``"broker": "tradovate"``.

Built from the research notes (/work/shared/brokers/tradovate.md, cited as §n) and BROKERS.md.
Files as in every adapter package: config, enums (mapping tables), schemas (wire models), parsing
(pure wire → domain, shared with the listener), http (classify), auth (token), contracts, broker.
"""

from tradecopier.brokers.tradovate.broker import TradovateBroker
from tradecopier.brokers.tradovate.config import TradovateConfig

__all__ = ["TradovateBroker", "TradovateConfig"]
