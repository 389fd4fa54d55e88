"""tradecopier.dal.dynamodb: the copier's own (de)serialisers give what boto3's give, value for value.

boto3's ``TypeSerializer`` / ``TypeDeserializer`` are the reference (the data layer used them until
its import was dropped from the cold start, issue 19): the same attribute values for every Python
value, the same refusals (floats, NaN, numbers DynamoDB cannot hold exactly), the same values read
back (binary aside: ``bytes`` here, boto3's ``Binary`` wrapper there).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given, settings
from hypothesis import strategies as st

from tradecopier.dal.dynamodb import as_int, from_attr, from_item, to_attr, to_item

_numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=False, allow_infinity=False, places=None),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, st.text(max_size=8), st.binary(max_size=8))
_sets = st.one_of(
    st.frozensets(_numbers, max_size=4),
    st.frozensets(st.text(max_size=6), max_size=4),
    st.frozensets(st.binary(max_size=6), min_size=1, max_size=4),
)
_values = st.recursive(
    st.one_of(_scalars, _sets),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=4),
    ),
    max_leaves=12,
)


def _outcome(serialize: Any, value: Any) -> Any:
    try:
        return ("ok", serialize(value))
    except Exception as error:  # the refusal itself is what is compared
        return (type(error).__name__, str(error))


def _plain(value: Any) -> Any:
    """boto3's read-back with its ``Binary`` wrappers unwrapped, to compare with ours."""
    if isinstance(value, Binary):
        return bytes(value.value)
    if isinstance(value, dict):
        return {key: _plain(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_plain(member) for member in value]
    if isinstance(value, set):
        return {_plain(member) for member in value}
    return value


@settings(max_examples=300, deadline=None)
@given(_values)
def test_every_value_is_written_and_refused_as_boto3_does(value: Any) -> None:
    ours, boto3s = _outcome(to_attr, value), _outcome(TypeSerializer().serialize, value)
    if ours[0] == "ok" and boto3s[0] == "ok" and isinstance(value, frozenset):  # set order is arbitrary
        (kind, members), (kind3, members3) = next(iter(ours[1].items())), next(iter(boto3s[1].items()))
        assert (kind, sorted(members)) == (kind3, sorted(members3))
    else:
        assert ours == boto3s


@settings(max_examples=300, deadline=None)
@given(_values)
def test_every_attribute_reads_back_as_boto3_reads_it(value: Any) -> None:
    try:
        attr = TypeSerializer().serialize(value)
    except (TypeError, ArithmeticError):
        return  # not storable: refused alike above
    assert from_attr(attr) == _plain(TypeDeserializer().deserialize(attr))


@pytest.mark.parametrize(
    "value",
    [1.5, Decimal("NaN"), Decimal("Infinity"), Decimal("1" * 39), Decimal("1E-200"), object(), {1, "a"}],
    ids=["float", "nan", "infinity", "39-digits", "underflow", "object", "mixed-set"],
)
def test_values_dynamodb_cannot_hold_are_refused(value: Any) -> None:
    with pytest.raises((TypeError, ArithmeticError)):
        to_attr(value)
    with pytest.raises((TypeError, ArithmeticError)):
        TypeSerializer().serialize(value)  # the reference refuses them too


def test_an_item_leaves_out_none_and_reads_back_with_decimals() -> None:
    values = {"pk": "G#1", "qty": 3, "price": Decimal("4210.25"), "gone": None, "on": True, "tags": ["a"]}
    item = to_item(values)
    assert item == {
        "pk": {"S": "G#1"},
        "qty": {"N": "3"},
        "price": {"N": "4210.25"},
        "on": {"BOOL": True},
        "tags": {"L": [{"S": "a"}]},
    }
    assert from_item(item) == {key: value for key, value in values.items() if value is not None}
    assert from_item({"b": {"B": b"\x00\x01"}, "n": {"NULL": True}}) == {"b": b"\x00\x01", "n": None}
    assert as_int(Decimal("7")) == 7 and as_int(None) is None


@pytest.mark.parametrize("attr", [{}, {"X": "1"}], ids=["empty", "unknown-type"])
def test_unreadable_attributes_are_refused(attr: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        from_attr(attr)
    with pytest.raises(TypeError):
        TypeDeserializer().deserialize(attr)
