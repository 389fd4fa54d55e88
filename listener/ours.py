"""Which broker orders the copier placed itself: their tag is one of our deterministic client order
ids (``domain.decide.client_order_id``: ``tc-`` + 40 hex digits; bracket legs add ``:tp`` / ``:sl``,
``brokers.base.bracket_leg_client_order_id``). Such an order never becomes a leader event."""

from __future__ import annotations

import re

_OURS = re.compile(r"tc-[0-9a-f]{40}(:tp|:sl)?")


def is_copier_order(tag: str | None) -> bool:
    return tag is not None and _OURS.fullmatch(tag) is not None
