"""Home mode, on start: the fan-out moto forgot, rebuilt from the table; pending copies re-driven.

moto keeps nothing across restarts, DynamoDB Local (on disk) keeps everything. For every group in
the table this re-creates its shard topics (``GroupTopics.ensure_group_topic``) and, for every
provisioned follower, its DLQ, queue, policy, subscription, event source mapping and alarm
(``FollowerQueues.ensure_follower``, the admin function's own idempotent code), then records the
new subscription/mapping ids as admin does (``mark_provisioned``).

Then every copy still ``pending`` (the stack stopped, or was killed, before the executor recorded
it) is sent again to its follower's queue, oldest first, as SNS would have delivered it: the
executor decides as for any delivery. The copy record is the idempotency record (a final outcome
is never redone), the deterministic client order id finds an order the broker already took, and
the stale guard skips a market entry that is now late ("stale: ...") while an exit is still done.

A follower whose provisioning was cut short (not ``provisioned``) is left for the admin call that
resumes it, as on AWS.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ALL_EVENTS = 10**9  # list_events' limit: every event still kept (retention bounds them)


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
    topics = GroupTopics(settings, sns=sns)
    followers = FollowerQueues(settings, topics, sqs=sqs, lambda_=lambda_, cloudwatch=cloudwatch)
    done = Restored()
    for group_id in store.list_group_ids():
        group = store.get_group(group_id)
        if group is None:
            continue
        done.groups += 1
        for arn in group.topic_arns:
            topics.ensure_group_topic(group_id, shard_of(arn))
        queue_urls: dict[str, str] = {}
        for item in group.followers:
            account_id = item.follower.account_id
            topic_arn = item.resources.get("topic_arn") or (group.topic_arns[:1] or [""])[0]
            if not item.provisioned or not topic_arn:
                continue
            resources = followers.ensure_follower(group_id, account_id, topic_arn)
            store.mark_provisioned(
                group_id,
                account_id,
                follower_queue_name(settings.resource_prefix, group_id, account_id),
                {key: str(value) for key, value in asdict(resources).items()},
            )
            queue_urls[account_id] = resources.queue_url
            done.followers += 1
        done.redriven += _redrive(store, sqs, group_id, queue_urls)
    return done


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
