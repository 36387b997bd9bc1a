"""Plain Python values <-> DynamoDB attribute values, and expression attribute names.

boto3.dynamodb.types does the same conversion, but importing it imports boto3 and s3transfer: about 45 ms of
every cold start (bench/cold_import.py). The run store stores only strings, numbers, booleans, lists and maps.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any


def _encode(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        return {"N": str(value) if not isinstance(value, float) else repr(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, dict):
        return {"M": {str(k): _encode(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [_encode(v) for v in value]}
    raise TypeError(f"cannot store a {type(value).__name__} in the run store: {value!r:.100}")


def _decode(attribute: dict[str, Any]) -> Any:
    (tag, value), = attribute.items()
    if tag == "S" or tag == "BOOL":
        return value
    if tag == "N":
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)
    if tag == "NULL":
        return None
    if tag == "M":
        return {k: _decode(v) for k, v in value.items()}
    if tag == "L":
        return [_decode(v) for v in value]
    raise TypeError(f"unexpected DynamoDB attribute type {tag}")


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _encode(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _decode(v) for k, v in item.items()}


def names_in(*expressions: str) -> dict[str, str]:
    """ExpressionAttributeNames for every '#name' used: DynamoDB reserves many plain words (status, trigger...)."""
    return {f"#{name}": name for text in expressions for name in re.findall(r"#(\w+)", text)}
