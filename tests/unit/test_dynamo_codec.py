"""The run store's value codec agrees with boto3's own serializer on every shape the store writes."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from functions.adapters.dynamo import from_item, to_item

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**15), 10**15) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4),
    max_leaves=20)


def _without_none_in_maps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none_in_maps(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none_in_maps(v) for v in value]
    return value


@given(st.dictionaries(st.text(min_size=1, max_size=8), values, max_size=5))
def test_round_trip_and_agreement_with_boto3(item: dict[str, Any]) -> None:
    # GIVEN any item of the shapes the store writes; WHEN encoded THEN boto3 reads it back to the same values
    encoded = to_item(item)
    expected = _without_none_in_maps({k: v for k, v in item.items() if v is not None})
    assert from_item(encoded) == expected
    boto = {k: TypeDeserializer().deserialize(v) for k, v in encoded.items()}
    assert from_item({k: TypeSerializer().serialize(v) for k, v in boto.items()}) == expected


def test_floats_keep_their_value_and_unknown_types_are_refused() -> None:
    assert from_item(to_item({"x": 1.25, "y": 3.0})) == {"x": 1.25, "y": 3}
    with pytest.raises(TypeError, match="cannot store a set"):
        to_item({"x": {1, 2}})
