"""Broker adapters behind one interface (``base.BrokerAccount``); ``paper`` is the built-in one."""
