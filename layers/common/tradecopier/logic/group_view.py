"""The group as ``GET /groups`` and ``GET /groups/{id}`` show it: the stored group, and for a leader at
a real broker the state of the listener's stream of its orders (``leader.leader_stream``).

The stream's state is the listener's item ``LISTENER#{group}`` / ``LEADER#{account}``, another
partition than the group's, so it is one more read: for one group a ``BatchGetItem`` of one key
(only when its leader has a real broker: a paper leader costs nothing, its ``leader_stream`` is
null); for the list, one ``BatchGetItem`` for every real-broker leader of the page (per 100). A
leader no listener has reported for is ``not_running``. The read is eventually consistent: a
status display, at most a second behind.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradecopier.dal.copier.listener import ListenerStateStore
from tradecopier.domain.accounts import NOT_RUNNING, Group
from tradecopier.domain.enums import BrokerName
from tradecopier.logic import admin
from tradecopier.logic.services import AdminServices


def _streamed(group: Group) -> bool:
    return group.leader.broker is not BrokerName.PAPER


def with_leader_streams(services: AdminServices, groups: Iterable[Group]) -> list[Group]:
    """``groups`` with each real-broker leader's ``leader_stream`` (one read for all of them)."""
    groups = list(groups)
    leaders = [(g.group_id, g.leader.account_id) for g in groups if _streamed(g)]
    if not leaders:
        return groups
    settings = services.settings
    states = ListenerStateStore(
        settings.copier_table_name, settings.event_retention_days, clock=services.clock
    )
    streams = states.leader_streams(leaders)
    return [
        g.model_copy(
            update={
                "leader": g.leader.model_copy(
                    update={"leader_stream": streams.get((g.group_id, g.leader.account_id), NOT_RUNNING)}
                )
            }
        )
        if _streamed(g)
        else g
        for g in groups
    ]


def group_view(services: AdminServices, group_id: str) -> Group:
    return with_leader_streams(services, [admin.load_group(services, group_id).group])[0]


def group_views(services: AdminServices) -> list[Group]:
    return with_leader_streams(services, admin.list_groups(services))


def created_view(group: Group) -> Group:
    """A group just created: no listener can have reported for its leader yet."""
    if not _streamed(group):
        return group
    return group.model_copy(update={"leader": group.leader.model_copy(update={"leader_stream": NOT_RUNNING})})
