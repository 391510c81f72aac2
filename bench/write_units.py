"""DynamoDB write units, counted as DynamoDB bills them (moto does not compute
ReturnConsumedCapacity, so this meter does).

Per item written: 1 WCU per started KB of the larger of the item before and after the write
(PutItem, UpdateItem, DeleteItem, each put/delete of a BatchWriteItem); every item of a
TransactWriteItems (condition checks too) costs twice that. The before and after images are
read with uncounted GetItems around each write; item sizes follow DynamoDB's rules
(attribute names + values; a number is about one byte per two digits + 1; maps and lists
3 bytes + 1 per element). A failed conditional write is billed like a successful one.
"""
from __future__ import annotations

import math
from collections import Counter
from contextlib import contextmanager
from typing import Any

from pynamodb.connection.base import Connection


def value_size(value: dict) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(v) if isinstance(v, (bytes, bytearray)) else len(v.encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(x) + 1 for k, x in v.items())
    if kind == "L":
        return 3 + sum(value_size(x) + 1 for x in v)
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: x}) for x in v)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def units(*sizes: int) -> int:
    return max(1, math.ceil(max(sizes) / 1024))


class WriteUnits:
    def __init__(self) -> None:
        self.by_table: Counter[str] = Counter()
        self.items = 0

    @property
    def total(self) -> int:
        return sum(self.by_table.values())

    def on(self, *suffixes: str) -> int:
        return sum(v for t, v in self.by_table.items() if t.endswith(suffixes))


@contextmanager
def counted():
    """Count write units of every write made through PynamoDB connections in the block."""
    meter = WriteUnits()
    real = Connection._make_api_call
    keys: dict[str, list[str]] = {}

    def key_of(conn: Connection, table: str, item: dict) -> dict:
        if table not in keys:
            schema = real(conn, "DescribeTable", {"TableName": table})["Table"]["KeySchema"]
            keys[table] = [k["AttributeName"] for k in schema]
        return {k: item[k] for k in keys[table]}

    def get(conn: Connection, table: str, key: dict) -> dict | None:
        return real(conn, "GetItem", {"TableName": table, "Key": key,
                                      "ConsistentRead": True}).get("Item")

    def writes(conn: Connection, operation: str, kwargs: dict) -> list[tuple[str, dict, dict | None, int]]:
        """(table, key, item put or None, multiplier) per item the request writes."""
        if operation == "PutItem":
            t = kwargs["TableName"]
            return [(t, key_of(conn, t, kwargs["Item"]), kwargs["Item"], 1)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(kwargs["TableName"], kwargs["Key"], None, 1)]
        if operation == "BatchWriteItem":
            out = []
            for t, requests in kwargs["RequestItems"].items():
                for r in requests:
                    if "PutRequest" in r:
                        item = r["PutRequest"]["Item"]
                        out.append((t, key_of(conn, t, item), item, 1))
                    else:
                        out.append((t, r["DeleteRequest"]["Key"], None, 1))
            return out
        if operation == "TransactWriteItems":
            out = []
            for entry in kwargs["TransactItems"]:
                (_, op), = entry.items()
                t = op["TableName"]
                if "Item" in op:
                    out.append((t, key_of(conn, t, op["Item"]), op["Item"], 2))
                else:
                    out.append((t, op["Key"], None, 2))
            return out
        return []

    def counting(self: Connection, operation_name: str, operation_kwargs: dict) -> Any:
        planned = writes(self, operation_name, operation_kwargs)
        before = [item_size(get(self, t, k)) for t, k, _, _ in planned]
        try:
            return real(self, operation_name, operation_kwargs)
        finally:
            for (t, k, put, times), b in zip(planned, before):
                after = item_size(put) if put is not None else item_size(get(self, t, k))
                meter.by_table[t] += times * units(b, after)
                meter.items += 1

    Connection._make_api_call = counting
    try:
        yield meter
    finally:
        Connection._make_api_call = real
