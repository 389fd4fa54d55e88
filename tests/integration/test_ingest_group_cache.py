"""Ingest's group cache through the real handlers on DynamoDB Local and moto: warm, an event is
accepted without reading the group, and every change that matters to ingest is seen by the very
next event (a follower added or removed, a rotated token, a deleted group) — the write's version
check, not a time limit, is what makes the cached group safe."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from devstack import samples
from tests.conftest import CopierTables
from tests.integration.test_pipeline_rules import table_items
from tests.pipeline import Pipeline
from tradecopier.dal.copier import CopierStore, GroupItem

market = partial(samples.market, order_id="L-1")


@pytest.fixture
def group_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The group ids ``CopierStore.get_group`` read, in order (ingest's and admin's)."""
    reads: list[str] = []
    original = CopierStore.get_group

    def counted(self: CopierStore, group_id: str) -> GroupItem | None:
        reads.append(group_id)
        return original(self, group_id)

    monkeypatch.setattr(CopierStore, "get_group", counted)
    yield reads


def _ingest_reads(pipeline: Pipeline, reads: list[str], group_id: str, token: str, **event: Any) -> Any:
    """Sends ``event``; returns (reply, how many times the group was read meanwhile)."""
    before = len(reads)
    reply = pipeline.send(group_id, token, **event)
    return reply, len(reads) - before


def test_warm_ingest_accepts_without_reading_the_group(pipeline: Pipeline, group_reads: list[str]) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    first, cold_reads = _ingest_reads(pipeline, group_reads, group_id, token, **market("E-1"))
    second, warm_reads = _ingest_reads(
        pipeline, group_reads, group_id, token, **market("E-2", order_id="L-2")
    )
    assert (first.status, cold_reads) == (202, 1)
    assert (second.status, warm_reads) == (202, 0)
    duplicate, duplicate_reads = _ingest_reads(
        pipeline, group_reads, group_id, token, **market("E-2", order_id="L-2")
    )
    assert (duplicate.status, duplicate.body["status"], duplicate_reads) == (200, "duplicate", 0)
    pipeline.deliver()
    assert len(pipeline.orders("EVAL-1")) == 2


def test_a_follower_added_right_after_a_201_gets_the_next_event(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    assert pipeline.send(group_id, token, **market("E-1")).status == 202  # ingest now holds the group
    pipeline.add_follower(group_id, "EVAL-2")  # 201
    assert pipeline.send(group_id, token, **market("E-2", order_id="L-2")).status == 202
    assert sorted(pipeline.copies(group_id, "E-2")) == ["EVAL-1", "EVAL-2"]
    assert sorted(pipeline.copies(group_id, "E-1")) == ["EVAL-1"]
    pipeline.deliver()
    assert pipeline.copies(group_id, "E-2")["EVAL-2"]["status"] == "placed"
    assert [order["qty"] for order in pipeline.orders("EVAL-2")] == [2]


def test_a_removed_follower_is_left_out_of_the_next_event(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    pipeline.add_follower(group_id, "EVAL-2")
    assert pipeline.send(group_id, token, **market("E-1")).status == 202
    assert pipeline.call("DELETE", f"/groups/{group_id}/followers/EVAL-2").status == 204
    assert pipeline.send(group_id, token, **market("E-2", order_id="L-2")).status == 202
    assert sorted(pipeline.copies(group_id, "E-2")) == ["EVAL-1"]


def test_a_rotated_token_is_refused_at_once_and_writes_nothing(
    pipeline: Pipeline, pipeline_env: CopierTables
) -> None:
    group_id, old = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    assert pipeline.send(group_id, old, **market("E-1")).status == 202  # ingest now holds the group
    new = pipeline.call("POST", f"/groups/{group_id}/token/rotate").body["webhook_token"]
    pipeline.deliver()
    before = table_items(pipeline_env.copier)
    for event in (market("E-2", order_id="L-2"), market("E-1")):  # a new event, and a duplicate
        refused = pipeline.send(group_id, old, **event)
        assert (refused.status, refused.body["error"]["code"]) == (401, "unauthorized")
    assert table_items(pipeline_env.copier) == before
    assert not any(pipeline.queue_depths().values())  # nothing published
    assert pipeline.send(group_id, new, **market("E-2", order_id="L-2")).status == 202
    assert pipeline.send(group_id, old, **market("E-3", order_id="L-3")).status == 401


def test_a_deleted_group_is_not_found_at_once(pipeline: Pipeline, pipeline_env: CopierTables) -> None:
    group_id, token = pipeline.create_group()
    assert pipeline.send(group_id, token, **market("E-1")).status == 202
    assert pipeline.call("DELETE", f"/groups/{group_id}").status == 204
    before = table_items(pipeline_env.copier)
    reply = pipeline.send(group_id, token, **market("E-2", order_id="L-2"))
    assert (reply.status, reply.body["error"]["code"]) == (404, "not_found")
    assert table_items(pipeline_env.copier) == before


def test_a_group_changing_on_every_read_is_a_503_with_nothing_written(
    pipeline: Pipeline, pipeline_env: CopierTables, monkeypatch: pytest.MonkeyPatch
) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1")
    original = CopierStore.get_group

    def always_stale(self: CopierStore, group_id: str) -> GroupItem | None:
        group = original(self, group_id)
        return dataclasses.replace(group, version=group.version - 1) if group else None

    monkeypatch.setattr(CopierStore, "get_group", always_stale)
    before = table_items(pipeline_env.copier)
    reply = pipeline.send(group_id, token, **market("E-1"))
    assert (reply.status, reply.body["error"]["code"]) == (503, "publish_failed")
    assert table_items(pipeline_env.copier) == before
    assert not any(pipeline.queue_depths().values())
    monkeypatch.setattr(CopierStore, "get_group", original)
    assert pipeline.send(group_id, token, **market("E-1")).status == 202
