"""Ingest's ``GroupCache``: the most recently used groups, bounded; 0 remembers nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from tradecopier.dal.copier import GroupItem
from tradecopier.domain.accounts import Group, Leader
from tradecopier.logic.group_cache import GroupCache


def _group(group_id: str, version: int = 0) -> GroupItem:
    group = Group(
        group_id=group_id,
        name=group_id,
        leader=Leader(account_id=f"L-{group_id}"),
        created_at=datetime.now(UTC),
    )
    return GroupItem(group=group, token_hash="h", topic_arns=[], followers=[], version=version)


def test_the_least_recently_used_group_is_dropped_first() -> None:
    cache = GroupCache(max_groups=2)
    cache.put(_group("g-000000000001"))
    cache.put(_group("g-000000000002"))
    assert cache.get("g-000000000001") is not None  # g-2 is now the least recently used
    cache.put(_group("g-000000000003"))
    assert [cache.get(g) is not None for g in ("g-000000000001", "g-000000000002", "g-000000000003")] == [
        True,
        False,
        True,
    ]


def test_put_replaces_and_forget_drops() -> None:
    cache = GroupCache()
    cache.put(_group("g-000000000001", version=1))
    cache.put(_group("g-000000000001", version=2))
    held = cache.get("g-000000000001")
    assert held is not None and held.version == 2
    cache.forget("g-000000000001")
    cache.forget("g-000000000009")
    assert cache.get("g-000000000001") is None


def test_a_cache_of_size_zero_remembers_nothing() -> None:
    cache = GroupCache(max_groups=0)
    cache.put(_group("g-000000000001"))
    assert cache.get("g-000000000001") is None
