"""Ingest: authorise a leader event, record it with the followers it is for, publish it.

parse → authorise → record → publish. One DynamoDB write per accepted event (no copy items: each
copy is ``pending`` until the executor writes it), and one SNS publish per topic shard of the group.
Warm, the group comes from the container's ``GroupCache`` and the write is one transaction that
also checks the group's version: two sequential AWS calls (TransactWriteItems, Publish) before
the answer; a changed group costs one re-read (Query) and the write again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from tradecopier.clock import Clock, utc_now
from tradecopier.dal.copier import CopierStore, EventExists, GroupChanged, GroupItem
from tradecopier.domain.errors import NotFound, PublishFailed, Unauthorized
from tradecopier.domain.events import AcceptedEvent, LeaderEvent
from tradecopier.domain.leader_position import leader_update
from tradecopier.fanout.publish import Publisher, PublishError
from tradecopier.logic.group_cache import GroupCache
from tradecopier.logic.tokens import token_matches
from tradecopier.observability import MetricName, count, logger

# SNS FIFO drops a message whose deduplication id it saw in the last 5 minutes. Within that
# window a repeated event is published again: harmless if the first publish went through, and
# the rescue if the first attempt died between recording and publishing.
SNS_DEDUP_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class IngestResult:
    event_id: str
    status: Literal["accepted", "duplicate"]


def deduplication_id(accepted: AcceptedEvent) -> str:
    """The SNS deduplication id of one acceptance of an event.

    It includes the acceptance time: a re-publish of the same acceptance (a duplicate request within
    the window) is dropped by SNS, but an event accepted anew after a 503 (whose first publish may
    in fact have gone through and been given up on) is delivered. The copy record still makes the
    executor copy it once. Hashed: SNS allows 128 chars from a restricted set; event ids are free.
    """
    acceptance = f"{accepted.event.event_id}#{accepted.received_at.isoformat()}"
    return hashlib.sha256(acceptance.encode()).hexdigest()


def ingest_event(
    group_id: str,
    event: LeaderEvent,
    token: str | None,
    *,
    store: CopierStore,
    publisher: Publisher,
    clock: Clock = utc_now,
    groups: GroupCache | None = None,
) -> IngestResult:
    """Authorise and accept a webhook event. ``groups``: the container's cache (warm: no read
    before the write); without one, the group is read for every event."""
    logger.set_correlation_id(event.event_id)
    cache = groups if groups is not None else GroupCache(0)
    group = _authorised_group(group_id, token, store, cache)
    try:
        return accept_event(group, event, store=store, publisher=publisher, clock=clock, guarded=True)
    except GroupChanged:
        cache.forget(group_id)
    # The group changed since it was read (a follower added or removed, the token rotated, the
    # group deleted): nothing was written; decide again on a fresh read, once.
    group = _authorised_group(group_id, token, store, cache)
    try:
        return accept_event(group, event, store=store, publisher=publisher, clock=clock, guarded=True)
    except GroupChanged as error:
        cache.forget(group_id)
        raise PublishFailed("the group changed while the event was being accepted; retry it") from error


def _authorised_group(group_id: str, token: str | None, store: CopierStore, cache: GroupCache) -> GroupItem:
    """The group ``token`` is valid for: the cached one if the token matches it (the write checks
    it is still current), else a fresh read (the token may be a newly rotated one)."""
    cached = cache.get(group_id)
    if cached is not None and token_matches(token, cached.token_hash):
        return cached
    group = store.get_group(group_id)
    if group is None:
        cache.forget(group_id)
        raise NotFound(f"group {group_id} does not exist")
    cache.put(group)
    if not token_matches(token, group.token_hash):
        raise Unauthorized("the webhook token is missing or wrong")
    return group


def accept_event(
    group: GroupItem,
    event: LeaderEvent,
    *,
    store: CopierStore,
    publisher: Publisher,
    clock: Clock = utc_now,
    guarded: bool = False,
) -> IngestResult:
    """Record ``event`` with a pending copy per follower and publish it: the acceptance both the
    webhook route (after its token check) and the leader listener (trusted by its IAM role) use.

    ``guarded``: the record is written only while the group is still at the version ``group`` was
    read at (GroupChanged otherwise, nothing written): the webhook route's group may come from its
    cache. The listener reads the group right before each event and writes unguarded."""
    group_id = group.group.group_id
    accepted = AcceptedEvent(group_id=group_id, received_at=clock(), event=event)
    followers = [follower.account_id for follower in group.provisioned_followers]
    try:
        store.put_event(accepted, followers, group.version if guarded else None)
    except EventExists as duplicate:
        stored = duplicate.stored
        if stored and stored.copies and accepted.received_at - stored.accepted.received_at < SNS_DEDUP_WINDOW:
            _publish(publisher, group.topic_arns, stored.accepted)
        count(MetricName.EVENTS_DUPLICATE)
        return IngestResult(event.event_id, "duplicate")

    if followers:
        try:
            _publish(publisher, group.topic_arns, accepted)
        except PublishFailed:
            # Nothing may claim to be accepted: the sender gets a 503 and may safely retry.
            store.delete_event(group_id, event.event_id)
            raise
    _note_leader_position(store, accepted)
    count(MetricName.EVENTS_ACCEPTED)
    logger.info("event accepted", extra={"group_id": group_id, "followers": len(followers)})
    return IngestResult(event.event_id, "accepted")


def _note_leader_position(store: CopierStore, accepted: AcceptedEvent) -> None:
    """Sync's knowledge of a webhook leader: one UpdateItem, only for an event that tells the
    leader's position. The event is accepted already: a failure here is logged, never answered."""
    update = leader_update(accepted.event)
    if update is None:
        return
    try:
        store.put_leader_update(accepted.group_id, update, accepted.event.event_id, accepted.received_at)
    except Exception:
        logger.exception("could not record the leader's position; sync reports the previous one")


def _publish(publisher: Publisher, topic_arns: list[str], accepted: AcceptedEvent) -> None:
    try:
        publisher.publish(
            topic_arns,
            accepted.model_dump_json(),
            group_id=accepted.group_id,
            dedup_id=deduplication_id(accepted),
            attributes={"event_id": accepted.event.event_id, "group_id": accepted.group_id},
        )
    except PublishError as error:
        logger.warning("publish failed", extra={"error": str(error)})
        raise PublishFailed("the event could not be queued for the followers; retry it") from error
