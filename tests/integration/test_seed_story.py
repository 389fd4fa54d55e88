"""The seed's story end to end through the real handlers: one leader, followers ×1 and ×0.5, one locked."""

from devstack.samples import market
from tests.pipeline import Pipeline

# The leader's order as a sender that names every field posts it (null prices included).
BUY_2_NQ = market(
    "L-42-new", "L-42", qty=2, limit_price=None, stop_price=None, occurred_at="2026-11-24T14:30:01.123Z"
)


def test_leader_buys_2_nq_and_each_follower_gets_its_own_size(pipeline: Pipeline) -> None:
    group_id, token = pipeline.create_group()
    pipeline.add_follower(group_id, "EVAL-1", multiplier=1)
    pipeline.add_follower(group_id, "EVAL-2", multiplier=0.5)
    pipeline.add_follower(group_id, "EVAL-3", multiplier=1)
    locked = pipeline.call(
        "POST", f"/groups/{group_id}/followers/EVAL-3/lock", {"reason": "daily loss limit"}
    )
    assert locked.status == 200 and locked.body["state"] == "locked"

    reply = pipeline.send(group_id, token, **BUY_2_NQ)
    assert (reply.status, reply.body) == (202, {"event_id": "L-42-new", "status": "accepted"})
    assert {c["status"] for c in pipeline.copies(group_id, "L-42-new").values()} == {"pending"}

    pipeline.deliver()

    copies = pipeline.copies(group_id, "L-42-new")
    assert (copies["EVAL-1"]["status"], copies["EVAL-1"]["qty"]) == ("placed", 2)
    assert (copies["EVAL-2"]["status"], copies["EVAL-2"]["qty"]) == ("placed", 1)
    assert copies["EVAL-3"]["status"] == "skipped"
    assert "daily loss limit" in copies["EVAL-3"]["reason"]
    assert copies["EVAL-1"]["broker_order_id"] == pipeline.orders("EVAL-1")[0]["broker_order_id"]
    assert pipeline.positions("EVAL-1") == {"NQZ6": 2}
    assert pipeline.positions("EVAL-2") == {"NQZ6": 1}
    assert pipeline.orders("EVAL-3") == []
    assert pipeline.orders("FUNDED-1") == []
    assert pipeline.positions("FUNDED-1") == {}
