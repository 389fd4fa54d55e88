"""Home mode, on start: the fan-out moto forgot, rebuilt from the table; pending copies re-driven.

moto keeps nothing across restarts, DynamoDB Local (on disk) keeps everything. For every group in
the table this re-creates its shard topics (``GroupTopics.ensure_group_topic``) and, for every
provisioned follower, its DLQ, queue, policy, subscription, event source mapping and alarm
(``FollowerQueues.create_follower``: the admin function's own code and attributes), then records
the new subscription/mapping ids as admin does (``mark_provisioned``).

Then every copy still ``pending`` (the stack stopped, or was killed, before the executor recorded
it) is sent again to its follower's queue, oldest first, as SNS would have delivered it: the
executor decides as for any delivery. The copy record is the idempotency record (a final outcome
is never redone), the deterministic client order id finds an order the broker already took, and
the stale guard skips a market entry that is now late ("stale: ...") while an exit is still done.

A follower whose provisioning was cut short (not ``provisioned``) is left for the admin call that
resumes it, as on AWS.

Speed (the restore is part of ``make dev``'s start): moto starts empty, so each follower is made by
``FollowerQueues.create_follower`` (one create call per resource, the admin function's attributes;
anything found already there is converged by ``ensure_follower``) rather than looked up first.
Groups are restored ``GROUP_WORKERS`` at a time, and followers' AWS calls run ``FOLLOWER_WORKERS``
at a time across them (boto3 clients are thread-safe; moto's server and DynamoDB Local are
threaded) -- except the calls during which moto's server walks a dict that another create adds
to (CreateQueue with a redrive policy and CreateEventSourceMapping walk every queue, Subscribe
every subscription: "dictionary changed size during iteration", a 500 and a traceback on the
terminal), which take turns (``_Serialized``). The order that matters is kept per group: its
topics, then its followers' resources, then their ``mark_provisioned`` (``mark_provisioned_many``:
the same writes, one transaction and one version bump per 49 followers instead of one each), then
its pending copies in acceptance order, after all of its followers exist.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ALL_EVENTS = 10**9  # list_events' limit: every event still kept (retention bounds them)
# Together at most botocore's default connection pool (10 per client): no connection is discarded.
GROUP_WORKERS = 4
FOLLOWER_WORKERS = 6


@dataclass
class Restored:
    groups: int = 0
    followers: int = 0
    redriven: int = 0

    def line(self) -> str:
        copies = "copy" if self.redriven == 1 else "copies"
        return (
            f"{self.groups} group{'s' * (self.groups != 1)}, {self.followers} follower"
            f"{'s' * (self.followers != 1)}, {self.redriven} {copies} re-driven"
        )


def import_layer(layer_dirs: list[Path]) -> None:
    """The functions' layer on this process's path (the same code the functions run)."""
    for path in reversed(layer_dirs):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def restore_fanout(
    environment: dict[str, str], *, dynamodb: Any, sns: Any, sqs: Any, lambda_: Any, cloudwatch: Any
) -> Restored:
    """Re-provisions every group and follower from the table, then re-drives pending copies.
    ``environment``: the admin function's variables (its settings name the table and prefix)."""
    from tradecopier.dal.copier import CopierStore
    from tradecopier.fanout.followers import FollowerQueues
    from tradecopier.fanout.names import follower_queue_name, shard_of
    from tradecopier.fanout.topics import GroupTopics
    from tradecopier.settings import AdminSettings

    settings = AdminSettings.from_env(environment)
    store = CopierStore(settings.copier_table_name, settings.event_retention_days, client=dynamodb)
    queues_walked, subscriptions_walked = threading.Lock(), threading.Lock()
    sqs = _Serialized(sqs, queues_walked, {"create_queue"})
    lambda_ = _Serialized(lambda_, queues_walked, {"create_event_source_mapping"})
    sns = _Serialized(sns, subscriptions_walked, {"create_topic", "subscribe"})
    topics = GroupTopics(settings, sns=sns)
    followers = FollowerQueues(settings, topics, sqs=sqs, lambda_=lambda_, cloudwatch=cloudwatch)
    creates = ThreadPoolExecutor(FOLLOWER_WORKERS, thread_name_prefix="restore-follower")
    groups = ThreadPoolExecutor(GROUP_WORKERS, thread_name_prefix="restore-group")

    def restore_group(group_id: str) -> Restored:
        """The group's topics, its followers (created in parallel, then marked), its re-drive."""
        group = store.get_group(group_id)
        if group is None:
            return Restored()
        for arn in group.topic_arns:
            topics.ensure_group_topic(group_id, shard_of(arn))
        wanted: list[tuple[str, str]] = []
        for item in group.followers:
            topic_arn = item.resources.get("topic_arn") or (group.topic_arns[:1] or [""])[0]
            if item.provisioned and topic_arn:
                wanted.append((item.follower.account_id, topic_arn))
        made = [creates.submit(followers.create_follower, group_id, *follower) for follower in wanted]
        marks: list[tuple[str, str, dict[str, str]]] = []
        queue_urls: dict[str, str] = {}
        for (account_id, _topic), future in zip(wanted, made, strict=True):
            resources = future.result()
            queue_name = follower_queue_name(settings.resource_prefix, group_id, account_id)
            marks.append(
                (account_id, queue_name, {key: str(value) for key, value in asdict(resources).items()})
            )
            queue_urls[account_id] = resources.queue_url
        store.mark_provisioned_many(group_id, marks)
        return Restored(1, len(queue_urls), _redrive(store, sqs, group_id, queue_urls))

    done = Restored()
    try:
        for restored in groups.map(restore_group, store.list_group_ids()):
            done.groups += restored.groups
            done.followers += restored.followers
            done.redriven += restored.redriven
    finally:  # a failure: what has not started yet is not started
        groups.shutdown(cancel_futures=True)
        creates.shutdown(cancel_futures=True)
    return done


class _Serialized:
    """``client`` whose ``operations`` run one at a time (holding ``lock``); the rest as they are."""

    def __init__(self, client: Any, lock: threading.Lock, operations: set[str]) -> None:
        self._client = client
        self._lock = lock
        self._operations = operations

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in self._operations:
            return attribute
        lock = self._lock

        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return attribute(*args, **kwargs)

        return call


def _redrive(store: Any, sqs: Any, group_id: str, queue_urls: dict[str, str]) -> int:
    """Sends every pending copy of the group to its follower's queue, in acceptance order."""
    from tradecopier.domain.enums import CopyStatus
    from tradecopier.logic.deliveries import REDRIVEN_ATTRIBUTE
    from tradecopier.logic.ingest import deduplication_id

    sent = 0
    events = sorted(store.list_events(group_id, ALL_EVENTS), key=lambda e: e.accepted.received_at)
    for stored in events:
        accepted = stored.accepted
        for copy in stored.copies:
            url = queue_urls.get(copy.account_id)
            if copy.status != CopyStatus.PENDING or url is None:
                continue
            sqs.send_message(
                QueueUrl=url,
                MessageBody=accepted.model_dump_json(),
                MessageGroupId=group_id,
                MessageDeduplicationId=deduplication_id(accepted),
                MessageAttributes={
                    "event_id": {"DataType": "String", "StringValue": accepted.event.event_id},
                    "group_id": {"DataType": "String", "StringValue": group_id},
                    REDRIVEN_ATTRIBUTE: {"DataType": "String", "StringValue": "true"},
                },
            )
            sent += 1
    return sent
