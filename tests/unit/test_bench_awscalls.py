"""``bench.awscalls.CallLog``: the calls of each scoped block in order (what the critical path is
counted from) and a transaction's write units, index entry included."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bench.awscalls import CallLog, ScopeCounts


def _model(service: str, name: str) -> Any:
    return SimpleNamespace(
        name=name,
        service_model=SimpleNamespace(service_name=service),
        input_shape=SimpleNamespace(members={}),
    )


def _call(log: CallLog, service: str, name: str, params: dict[str, Any]) -> None:
    log._before_params(params=params, model=_model(service, name), context={})


def test_each_scoped_block_keeps_its_calls_in_order_with_the_table_kind() -> None:
    log = CallLog("copier-t", "paper-t")
    with log.scoped("executor"):
        _call(log, "dynamodb", "BatchGetItem", {"RequestItems": {"copier-t": {"Keys": [{}]}}})
        _call(log, "dynamodb", "PutItem", {"TableName": "paper-t", "Item": {}})
    _call(log, "dynamodb", "GetItem", {"TableName": "copier-t"})  # outside a scope: not counted
    with log.scoped("executor"):
        _call(
            log,
            "dynamodb",
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": "copier-t", "Item": {}}}]},
        )
    with log.scoped(None):
        _call(log, "sns", "Publish", {"Message": "x"})
    assert log.counts("executor").sequences == [
        ["dynamodb.BatchGetItem copier", "dynamodb.PutItem paper"],
        ["dynamodb.TransactWriteItems copier"],
    ]


def test_a_transactions_units_count_the_index_entry_of_a_put_once() -> None:
    log = CallLog("copier-t", "paper-t")
    put = {"Put": {"TableName": "copier-t", "Item": {"pk": {"S": "E"}, "gsi1pk": {"S": "EVENTS#g"}}}}
    check = {"ConditionCheck": {"TableName": "copier-t"}}
    units = log._count_transact_writes(ScopeCounts(), [put, check])
    assert units == {"copier": 2 + 1 + 2}  # the put (2 per KB), its index entry (1), the check (2)
    plain = {"Put": {"TableName": "copier-t", "Item": {"pk": {"S": "E"}}}}
    assert log._count_transact_writes(ScopeCounts(), [plain]) == {"copier": 2}
