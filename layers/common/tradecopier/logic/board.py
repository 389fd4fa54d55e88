"""Every follower's positions of one group in one call (``GET /groups/{id}/positions``): what the
board and ``tradecopier status`` show, read once per group instead of once per follower.

The group is read once (the per-account route reads the account's claim and its whole group for
each account); each follower's broker is then asked for its positions, in parallel, each read
bounded: a broker that cannot answer (a paper store that is down included) makes that follower's
entry an ``error`` (the others are still answered), never a failed call.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from tradecopier.brokers.base import BrokerError, BrokerPosition, BrokerUnreachable
from tradecopier.brokers.registry import open_broker
from tradecopier.domain.accounts import Follower
from tradecopier.logic.admin import load_group
from tradecopier.logic.services import AdminServices
from tradecopier.observability import logger

PARALLEL_READS = 8
# A real broker's reads are bounded by its own timeouts (connect 2 s, read 5 s per call, and a
# login may come first); past this the follower's entry says so and the others are answered.
WAIT_S = 8.0


@dataclass(frozen=True)
class FollowerPositions:
    account_id: str
    broker: str
    positions: list[BrokerPosition] | None  # None: its broker did not answer (``error`` says why)
    error: str | None = None


def group_positions(
    services: AdminServices, group_id: str, *, wait_s: float | None = None
) -> list[FollowerPositions]:
    """One entry per follower of the group, in the group's order (404 for an unknown group);
    ``wait_s`` (default ``WAIT_S``) bounds the wait for the slowest broker."""
    wait_s = WAIT_S if wait_s is None else wait_s
    followers = [item.follower for item in load_group(services, group_id).followers]
    if not followers:
        return []
    pool = ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(followers)))
    try:
        futures = [pool.submit(_read, services, follower) for follower in followers]
        wait(futures, timeout=wait_s)
        return [_entry(follower, future, wait_s) for follower, future in zip(followers, futures, strict=True)]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a read still hanging is not waited for


def _read(services: AdminServices, follower: Follower) -> FollowerPositions:
    account_id, broker_name = follower.account_id, follower.broker
    try:
        broker = open_broker(account_id, broker_name, follower.simulate, services.settings)
        held = [position for position in broker.positions() if position.qty != 0]
    except BrokerUnreachable as error:
        return _failed(follower, f"the broker of {account_id} could not be reached: {error}")
    except BrokerError as error:
        if not broker_name.is_real:
            raise
        return _failed(follower, f"the {broker_name} broker of {account_id} refused to answer: {error}")
    except Exception as error:
        if not broker_name.is_real:  # the paper store itself: the call fails, as per account
            raise
        logger.exception("reading the broker failed", extra={"account_id": account_id})
        answer = f"gave no usable answer ({type(error).__name__})"
        return _failed(follower, f"the {broker_name} broker of {account_id} {answer}")
    return FollowerPositions(account_id, str(broker_name), held)


def _failed(follower: Follower, error: str) -> FollowerPositions:
    return FollowerPositions(follower.account_id, str(follower.broker), None, error)


def _entry(follower: Follower, future: Future[FollowerPositions], wait_s: float) -> FollowerPositions:
    if not future.done():
        return _failed(follower, f"the broker of {follower.account_id} did not answer within {wait_s:g} s")
    return future.result()  # a paper store failure is raised here: the call fails
