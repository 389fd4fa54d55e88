"""The paper broker: a simulated broker whose state lives in DynamoDB, shaped like a real adapter.

``broker`` is the adapter (the ``BrokerAccount``), ``fills`` the pure position arithmetic and
``store`` its own DynamoDB table. Real adapters (ProjectX, Tradovate) are packages of the same
shape: ``broker`` is always the adapter, exported here; pure code stays apart from I/O.
"""

from tradecopier.brokers.paper.broker import PaperBroker

__all__ = ["PaperBroker"]
