"""ProjectX Gateway (TopstepX and the other prop firms on it): the adapter of API.md's
``"broker": "projectx"``.

Built from the research notes (/work/shared/brokers/projectx.md, cited as §n) and BROKERS.md.
Files as in every adapter package: config, enums (mapping tables), schemas (wire models), parsing
(pure wire → domain, shared with the listener), http (classify), auth (token), contracts, broker.
"""

from tradecopier.brokers.projectx.broker import ProjectXBroker
from tradecopier.brokers.projectx.config import ProjectXConfig

__all__ = ["ProjectXBroker", "ProjectXConfig"]
