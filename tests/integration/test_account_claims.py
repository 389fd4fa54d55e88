"""An account belongs to at most one group, and a leader is never a follower: enforced by the
account claim written in the same DynamoDB transaction as the group or follower, so concurrent
requests can never both win. Raced with threads against DynamoDB Local."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tests.conftest import CopierTables
from tradecopier.dal.copier import CopierStore, ItemExists
from tradecopier.domain.accounts import Account, Follower, Group
from tradecopier.domain.enums import AccountRole
from tradecopier.logic.admin import new_group_id

RACES = 100
RACERS = 4


def _group(leader: str) -> Group:
    return Group(
        group_id=new_group_id(), name="race", leader=Account(account_id=leader), created_at=datetime.now(UTC)
    )


def _race(attempts: list[Callable[[], None]]) -> int:
    """Runs the attempts at the same instant; returns how many succeeded."""
    barrier = threading.Barrier(len(attempts))

    def run(attempt: Callable[[], None]) -> bool:
        barrier.wait()
        try:
            attempt()
        except ItemExists:
            return False
        return True

    with ThreadPoolExecutor(max_workers=len(attempts)) as pool:
        return sum(pool.map(run, attempts))


def test_concurrent_claims_of_one_account_have_exactly_one_winner(copier_env: CopierTables) -> None:
    store = CopierStore(copier_env.copier)
    winners = []
    for race in range(RACES):
        account = f"ACC-{race}"
        groups = [_group(f"LEAD-{race}-{n}") for n in range(RACERS)]
        for group in groups:
            store.create_group(group, "hash")
        # Half the racers try to make it a leader of a new group, half a follower of existing ones.
        attempts: list[Callable[[], None]] = []
        for n, group in enumerate(groups):
            if n % 2:
                attempts.append(
                    lambda g=group, a=account: store.create_follower(g.group_id, Follower(account_id=a))
                )
            else:
                attempts.append(lambda a=account: store.create_group(_group(a), "hash"))
        winners.append(_race(attempts))
        claim = store.get_claim(account)
        assert claim is not None and claim.role in (AccountRole.LEADER, AccountRole.FOLLOWER)
    assert winners == [1] * RACES


def test_a_leader_can_never_become_a_follower(copier_env: CopierTables) -> None:
    store = CopierStore(copier_env.copier)
    first, second = _group("LEAD-1"), _group("LEAD-2")
    store.create_group(first, "hash")
    store.create_group(second, "hash")
    for group in (first, second):
        try:
            store.create_follower(group.group_id, Follower(account_id="LEAD-1"))
        except ItemExists:
            continue
        raise AssertionError(f"LEAD-1 became a follower of {group.group_id}")
    claim = store.get_claim("LEAD-1")
    assert claim is not None and (claim.role, claim.group_id) == (AccountRole.LEADER, first.group_id)
