"""``python -m bench`` (``make bench``): latency, own overhead, cold start and cost, measured side by side.

Writes ``bench/results.json``, ``bench/results.md`` and ``bench/latency.png``. What each figure means
and how it is measured: the module docstrings below and the README's "Benchmarks" section.

Parts (each its own module):

- ``bench.e2e``      end to end on the local stack (devstack) next to the bare SNS→SQS transport floor
- ``bench.overhead`` own CPU per accepted event / copied order, and every AWS call counted (child process)
- ``bench.imports``  cold-start import time of each handler next to a Powertools + pydantic baseline
- ``bench.cost``     AWS price per million leader trades from the counted calls × ``bench/prices.json``
"""
