"""Names and tags of the resources the fan-out creates at runtime.

Per group: SNS FIFO topics ``{prefix}-g-{group_id}-{shard}.fifo``, shard 0, 1, … Per follower: a
FIFO queue and its FIFO DLQ named from a hash of ``group_id#account_id`` (the readable identity is
in the tags). The template's IAM policies and dashboard match these prefixes.
"""

from __future__ import annotations

import hashlib
import re

TAG_GROUP = "copier:group"
TAG_ACCOUNT = "copier:account"

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")


def follower_hash(group_id: str, account_id: str) -> str:
    """16 hex chars identifying a follower: account ids may hold '.' and ':', queue names may not."""
    return hashlib.sha256(f"{group_id}#{account_id}".encode()).hexdigest()[:16]


def follower_queue_name(prefix: str, group_id: str, account_id: str) -> str:
    return f"{prefix}-f-{follower_hash(group_id, account_id)}.fifo"


def follower_dlq_name(prefix: str, group_id: str, account_id: str) -> str:
    return f"{prefix}-f-{follower_hash(group_id, account_id)}-dlq.fifo"


def follower_tags(group_id: str, account_id: str) -> dict[str, str]:
    return {TAG_GROUP: group_id, TAG_ACCOUNT: account_id}


def group_topic_prefix(prefix: str, group_id: str) -> str:
    """What every shard topic name of the group starts with (the shard number follows)."""
    return f"{prefix}-g-{group_id}-"


def group_topic_name(prefix: str, group_id: str, shard: int) -> str:
    name = f"{group_topic_prefix(prefix, group_id)}{shard}.fifo"
    if shard < 0 or not _TOPIC_NAME.match(name):
        raise ValueError(f"group id {group_id!r} / shard {shard} do not make a valid SNS FIFO topic name")
    return name


def shard_of(topic_arn: str) -> int:
    """The shard number in a group topic ARN (``...-g-{group}-{shard}.fifo``)."""
    name = topic_arn.rsplit(":", 1)[-1].removesuffix(".fifo")
    try:
        return int(name.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        raise ValueError(f"not a group topic ARN: {topic_arn!r}") from None
