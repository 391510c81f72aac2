"""Monthly AWS cost of an agency with N clients chasing M invoices a month.

Request counts per action are measured on the local stack where the action exists (book
import and re-import, metered like bench/import_book.py); the rest are written-down
estimates (ESTIMATES) until their benchmarks exist. Prices (eu-west-2) are in PRICES and
in docs/COSTS.md; a test keeps the two equal. Prints `cost_per_month_N<n>_M<m>: x usd`.
"""
from __future__ import annotations

import json
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

# USD, eu-west-2 (London), list prices, no free tier. See docs/COSTS.md.
PRICES: dict[str, float] = {
    "dynamodb_write_request_unit_per_million": 0.7425,
    "dynamodb_read_request_unit_per_million": 0.1485,
    "dynamodb_storage_gb_month": 0.29,
    "dynamodb_pitr_gb_month": 0.232,
    "lambda_request_per_million": 0.20,
    "lambda_gb_second": 0.0000166667,
    "api_gateway_rest_request_per_million": 3.70,
    "sqs_request_per_million": 0.40,
    "ses_email_per_thousand": 0.10,
    "sns_sms_uk_per_message": 0.0420,
    "cloudwatch_alarm_month": 0.10,
    "kms_key_month": 1.00,
}

# Written-down estimates (not measured yet); each says where the number comes from.
ESTIMATES: dict[str, float] = {
    # cadence steps that fall in a month for an invoice being chased (friendly, firm, final)
    "touches_per_invoice": 3,
    "sms_share_of_touches": 0.2,
    # dispatch per touch (DESIGN.md flow 3): consistent GetItem debtor, Query contacts,
    # Query open invoices, GetItem client = 4 reads; claim put, claim done, timeline put,
    # debtor update, SES/SNS message id on the claim = 5 writes. Until bench.dunning exists.
    "dispatch_read_units_per_touch": 4,
    "dispatch_write_units_per_touch": 5,
    "dispatch_lambda_ms": 300,
    # SQS per touch: SendMessage by the sweep, ReceiveMessage and DeleteMessage by Lambda
    "sqs_requests_per_touch": 3,
    # sweep every 5 min over 8 shards: one Query per shard per tick, whatever the book
    "sweep_ticks_per_month": 12 * 24 * 30,
    "sweep_queries_per_tick": 8,
    "sweep_lambda_ms": 400,
    "hourly_jobs_per_month": 24 * 30,
    # debtor link: page view(s) + share paying by Stripe (webhook: ~6 reads, ~6 writes)
    "debtor_page_views_per_invoice": 1.5,
    "paid_by_link_share": 0.4,
    "payment_read_units": 6,
    "payment_write_units": 6,
    # people using the workspace and portal: API requests per client a month, 3 reads each
    "api_requests_per_client": 3000,
    "api_read_units_per_request": 3,
    "api_lambda_ms": 120,
    # books uploaded per client a month (each after the first re-reads the open book)
    "books_per_client": 4,
    # months an invoice (and its timeline) stays in the tables
    "months_retained": 24,
    "timeline_bytes_per_touch": 600,
}
LAMBDA_GB = 0.5  # lambda_memory_size 512 (.chalice/config.json, dev and prod)
ITEM_OVERHEAD = 100  # DynamoDB counts 100 bytes per item (and per index entry)


@dataclass
class Measured:
    """Per invoice, from importing a synthetic book on the local stack."""
    import_write_units: float = 0.0
    import_read_units: float = 0.0
    reimport_read_units: float = 0.0
    reimport_write_units: float = 0.0
    stored_bytes: float = 0.0
    import_lambda_ms: float = 0.0
    source: str = "local stack"
    detail: dict = field(default_factory=dict)


def _item_bytes(item: dict) -> int:
    return len(json.dumps(item, separators=(",", ":"))) + ITEM_OVERHEAD


@dataclass
class _Units:
    write_units: float = 0.0
    read_units: float = 0.0
    bytes_by_table: dict = field(default_factory=dict)


@contextmanager
def _capacity():
    """Request units as DynamoDB on-demand bills them: a write is ceil(KB) WRUs per item,
    a read ceil(bytes / 4 KB) RRUs per request (strongly consistent: the upper bound)."""
    from pynamodb.connection.base import Connection

    units = _Units()
    real = Connection._make_api_call

    def wrote(table: str, item: dict) -> None:
        size = _item_bytes(item)
        units.write_units += math.ceil(size / 1024)
        units.bytes_by_table[table] = units.bytes_by_table.get(table, 0) + size

    def counting(self, op, kwargs):
        if op == "PutItem":
            wrote(kwargs["TableName"], kwargs["Item"])
        elif op == "UpdateItem" or op == "DeleteItem":
            units.write_units += 1
        elif op == "BatchWriteItem":
            for table, reqs in kwargs["RequestItems"].items():
                for r in reqs:
                    if "PutRequest" in r:
                        wrote(table, r["PutRequest"]["Item"])
                    else:
                        units.write_units += 1
        elif op == "TransactWriteItems":
            for t in kwargs["TransactItems"]:
                body = next(iter(t.values()))
                if "Item" in body:
                    wrote(body["TableName"], body["Item"])
                units.write_units += 1  # transactions bill twice
        out = real(self, op, kwargs)
        if op in ("Query", "GetItem", "BatchGetItem", "Scan"):
            body = out.get("Items") or out.get("Item") or out.get("Responses") or {}
            units.read_units += max(1, math.ceil(len(json.dumps(body)) / 4096))
        return out

    Connection._make_api_call = counting
    try:
        yield units
    finally:
        Connection._make_api_call = real


def _stored_bytes(bytes_by_table: dict[str, int]) -> float:
    """Table bytes plus index copies: ALL projections copy the item, KEYS_ONLY the keys."""
    from chalicelib.tables import ALL_MODELS

    total = 0.0
    for model in ALL_MODELS:
        written = bytes_by_table.get(model.Meta.table_name, 0)
        total += written
        for index in model._indexes.values():
            ptype = index.Meta.projection.projection_type
            total += written if ptype == "ALL" else ITEM_OVERHEAD * 2 * (written > 0)
    return total


def measure(invoices: int = 1000) -> Measured:
    """Import and re-import a synthetic book on the running local stack."""
    from bench.books import generate
    from bench.import_book import _tenant
    from chalicelib.book.importer import import_book
    from chalicelib.kernel.clock import utcnow

    agency, client_id = _tenant(f"bench-cost-{invoices}-{time.time_ns()}")
    data = generate(invoices, prefix="COST")
    with _capacity() as first:
        t0 = time.perf_counter()
        report = import_book(agency, client_id, data, actor="bench", now=utcnow())
        elapsed = time.perf_counter() - t0
    with _capacity() as again:
        import_book(agency, client_id, data, actor="bench", now=utcnow())
    # per invoice that landed (rows the importer rejects cost nothing downstream)
    invoices = report["counts"]["invoices_created"]
    assert invoices > 0, report["counts"]
    return Measured(
        import_write_units=first.write_units / invoices,
        import_read_units=first.read_units / invoices,
        reimport_read_units=again.read_units / invoices,
        reimport_write_units=again.write_units / invoices,
        stored_bytes=_stored_bytes(first.bytes_by_table) / invoices,
        import_lambda_ms=elapsed * 1000 / invoices,
        detail={"invoices": invoices, "rows": report["counts"]["lines_read"]},
    )


def monthly_cost(n_clients: int, m_invoices: int, measured: Measured,
                 alarms: int = 10, prices: dict = PRICES, est: dict = ESTIMATES) -> dict:
    """USD per month, by line. Pure arithmetic: tested without the stack."""
    p, e, m = prices, est, measured
    touches = m_invoices * e["touches_per_invoice"]
    sms = touches * e["sms_share_of_touches"]
    emails = touches - sms
    paid = m_invoices * e["paid_by_link_share"]
    page_views = m_invoices * e["debtor_page_views_per_invoice"]
    api = n_clients * e["api_requests_per_client"]
    reimports = max(0, e["books_per_client"] - 1) * m_invoices

    wru = (m_invoices * m.import_write_units + reimports * m.reimport_write_units
           + touches * e["dispatch_write_units_per_touch"] + paid * e["payment_write_units"])
    rru = (m_invoices * m.import_read_units + reimports * m.reimport_read_units
           + touches * e["dispatch_read_units_per_touch"] + paid * e["payment_read_units"]
           + e["sweep_ticks_per_month"] * e["sweep_queries_per_tick"]
           + (api + page_views) * e["api_read_units_per_request"])
    stored_gb = (m_invoices * e["months_retained"]
                 * (m.stored_bytes + e["touches_per_invoice"] * e["timeline_bytes_per_touch"])
                 ) / 1e9
    invocations = (touches + e["sweep_ticks_per_month"] + e["hourly_jobs_per_month"]
                   + api + page_views + paid + n_clients * e["books_per_client"])
    lambda_ms = (touches * e["dispatch_lambda_ms"]
                 + e["sweep_ticks_per_month"] * e["sweep_lambda_ms"]
                 + (api + page_views + paid) * e["api_lambda_ms"]
                 + m_invoices * e["books_per_client"] * m.import_lambda_ms)
    lines = {
        "dynamodb_requests": wru / 1e6 * p["dynamodb_write_request_unit_per_million"]
        + rru / 1e6 * p["dynamodb_read_request_unit_per_million"],
        "dynamodb_storage": stored_gb * (p["dynamodb_storage_gb_month"]
                                         + p["dynamodb_pitr_gb_month"]),
        "lambda": invocations / 1e6 * p["lambda_request_per_million"]
        + lambda_ms / 1000 * LAMBDA_GB * p["lambda_gb_second"],
        "api_gateway": (api + page_views + paid) / 1e6
        * p["api_gateway_rest_request_per_million"],
        "sqs": touches * e["sqs_requests_per_touch"] / 1e6 * p["sqs_request_per_million"],
        "ses": emails / 1000 * p["ses_email_per_thousand"],
        "sns_sms": sms * p["sns_sms_uk_per_message"],
        "cloudwatch_alarms": alarms * p["cloudwatch_alarm_month"],
        "kms_topics_key": p["kms_key_month"],
    }
    lines["total"] = sum(lines.values())
    return lines


SCENARIOS = [(10, 5_000), (50, 25_000), (200, 100_000)]


def _alarm_count() -> int:
    from infra.alarms import alarm_resources
    from infra.functions import function_names

    return len(alarm_resources(function_names(), "api"))


def run(full: bool = False) -> None:
    os.environ.setdefault("RECOUP_STAGE", "bench")
    m = measure(20_000 if full else 4000)
    print(f"cost_measured_invoices: {m.detail['invoices']} invoices")
    print(f"cost_measured_import_write_units_per_invoice: {m.import_write_units:.3f} WRU")
    print(f"cost_measured_reimport_read_units_per_invoice: {m.reimport_read_units:.3f} RRU")
    print(f"cost_measured_stored_bytes_per_invoice: {m.stored_bytes:.0f} bytes")
    alarms = _alarm_count()
    for n, mi in SCENARIOS:
        lines = monthly_cost(n, mi, m, alarms)
        print(f"cost_per_month_N{n}_M{mi}: {lines['total']:.2f} usd")
        if (n, mi) == SCENARIOS[0]:
            email_only = monthly_cost(n, mi, m, alarms, est={**ESTIMATES,
                                                             "sms_share_of_touches": 0.0})
            print(f"cost_per_month_N{n}_M{mi}_email_only: {email_only['total']:.2f} usd")
            for k, v in lines.items():
                if k != "total":
                    print(f"cost_N{n}_M{mi}_{k}: {v:.2f} usd")
