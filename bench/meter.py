"""Counts DynamoDB requests (and items read/written) made through PynamoDB."""
from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

from pynamodb.connection.base import Connection


class Meter:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.items_read = 0
        self.items_billed = 0  # items read as DynamoDB bills them: a query's ScannedCount
        self.items_written = 0

    @property
    def write_requests(self) -> int:
        return sum(self.requests[k] for k in ("PutItem", "UpdateItem", "DeleteItem",
                                              "BatchWriteItem", "TransactWriteItems"))

    @property
    def read_requests(self) -> int:
        return sum(self.requests[k] for k in ("GetItem", "Query", "Scan", "BatchGetItem",
                                              "TransactGetItems"))


@contextmanager
def metered():
    meter = Meter()
    real = Connection._make_api_call

    def counting(self, operation_name, operation_kwargs):
        meter.requests[operation_name] += 1
        if operation_name == "BatchWriteItem":
            meter.items_written += sum(len(v) for v in operation_kwargs["RequestItems"].values())
        elif operation_name in ("PutItem", "UpdateItem", "DeleteItem"):
            meter.items_written += 1
        out = real(self, operation_name, operation_kwargs)
        if operation_name in ("Query", "Scan"):
            meter.items_read += out.get("Count", 0)
            meter.items_billed += out.get("ScannedCount", out.get("Count", 0))
        elif operation_name == "GetItem":
            meter.items_read += 1 if out.get("Item") else 0
            meter.items_billed += 1 if out.get("Item") else 0
        elif operation_name == "BatchGetItem":
            n = sum(len(v) for v in out.get("Responses", {}).values())
            meter.items_read += n
            meter.items_billed += n
        return out

    Connection._make_api_call = counting
    try:
        yield meter
    finally:
        Connection._make_api_call = real
