"""Doc-faithful local fakes of the brokers' HTTP APIs, built from the broker notes
(``/work/shared/brokers/*.md``), not from our adapters: test infrastructure for the adapters and a demo aid.

- ``devstack.brokers.projectx``: the ProjectX Gateway REST API (TopstepX and other prop firms).
- ``devstack.brokers.tradovate``: the Tradovate REST API.
"""
