"""Counts DynamoDB requests (and items read/written) made through PynamoDB, by operation
and table (`by_table`), and apart for what inline event delivery does (`events`: in AWS the
outbox stream does that work in another Lambda, off the request path)."""
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
        self.by_table: Counter[tuple[str, str]] = Counter()  # (operation, tables) -> requests
        self.events: Counter[str] = Counter()  # requests made while delivering events inline
        self._in_events = 0

    @property
    def request_path(self) -> int:
        """Requests made by the caller itself, not by inline event delivery."""
        return sum(self.requests.values()) - sum(self.events.values())

    def breakdown(self, per: float = 1.0) -> list[str]:
        """Lines `  <operation> <tables> <requests / per>` (request path, then events)."""
        out = []
        for (op, tables), n in sorted(self.by_table.items(), key=lambda kv: -kv[1]):
            out.append(f"  {n / per:6.2f}  {op:<20} {tables}")
        return out

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
        where = "events" if meter._in_events else "request"
        meter.by_table[(operation_name, f"{_tables(operation_kwargs)} [{where}]")] += 1
        if meter._in_events:
            meter.events[operation_name] += 1
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

    from chalicelib.kernel import events

    inline = events.after_commit

    def delivering(items):
        meter._in_events += 1
        try:
            return inline(items)
        finally:
            meter._in_events -= 1

    Connection._make_api_call = counting
    events.after_commit = delivering
    try:
        yield meter
    finally:
        Connection._make_api_call = real
        events.after_commit = inline


def _tables(kwargs: dict) -> str:
    """The tables a request touches, without the stage prefix (recoup-<stage>-)."""
    names = []
    if "TableName" in kwargs:
        names.append(kwargs["TableName"])
    names += list(kwargs.get("RequestItems", {}))
    for item in kwargs.get("TransactItems", []):
        for op in item.values():
            names.append(op.get("TableName", "?"))
    return "+".join(dict.fromkeys(n.rsplit("-", 1)[-1] for n in names))  # each table once
