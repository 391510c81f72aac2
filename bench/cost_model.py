"""Monthly AWS cost of an agency with N clients chasing M invoices a month, and the cost
per invoice chased beside a commercial dunning plan's price (docs/COSTS.md).

Measured on the local stack, per action, everything the action causes (its events'
consumers included): importing and re-importing a book, one reminder sent (sweep, consumer,
`touch_sent` delivery), one Stripe webhook payment, one hosted-page view, one idle sweep
tick; read units from the bytes each read returns, write units as DynamoDB bills them
(bench/write_units.py), stored bytes from the items written. Touches per invoice and their
channels come from the outcomes lab's default playbook (chalicelib/lab). What no bench can
measure (how many pay by link, how much people use the workspace) stays in ESTIMATES, each
with its reason. Prices (eu-west-2) are in PRICES and in docs/COSTS.md; a test keeps the two
equal. Prints `cost_per_month_N<n>_M<m>: x usd` and `cost_per_invoice_chased: x usd`.
"""
from __future__ import annotations

import json
import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

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

# What no benchmark can measure; each says where the number comes from.
ESTIMATES: dict[str, float] = {
    # SQS per touch: SendMessage by the sweep (batched by 10 in sweep.enqueue), ReceiveMessage
    # and DeleteMessage by the Lambda event source; counted as 1 + 1 + 1 (upper bound)
    "sqs_requests_per_touch": 3,
    # the sweep runs every 5 minutes (dunning/jobs.py), hourly jobs (4) and daily ones
    "sweep_ticks_per_month": 12 * 24 * 30,
    "hourly_jobs_per_month": 4 * 24 * 30,
    "job_lambda_ms": 400,
    # debtor link: page view(s) per chased invoice and the share paying by Stripe through it
    "debtor_page_views_per_invoice": 1.5,
    "paid_by_link_share": 0.4,
    # people using the workspace and portal: API requests per client a month, 3 read units each
    "api_requests_per_client": 3000,
    "api_read_units_per_request": 3,
    "api_lambda_ms": 120,
    # books uploaded per client a month (each after the first re-reads the open book)
    "books_per_client": 4,
    # months an invoice (and its timeline) stays in the tables
    "months_retained": 24,
}
# A commercial plan's price per invoice chased, for comparison (docs/COSTS.md, with source):
# Chaser's overage, £30 per block of 50 invoices chased a month (Standard) or of 100
# (Professional and Enterprise), at 1.27 USD/GBP.
COMMERCIAL_PER_INVOICE_USD = {"chaser_standard_overage": 30 / 50 * 1.27,
                              "chaser_professional_overage": 30 / 100 * 1.27}
LAMBDA_GB = 0.5  # lambda_memory_size 512 (.chalice/config.json, dev and prod)
ITEM_OVERHEAD = 100  # DynamoDB counts 100 bytes per item (and per index entry)


@dataclass
class Action:
    """What one action costs, everything it causes included."""
    read_units: float = 0.0
    write_units: float = 0.0
    requests: float = 0.0
    stored_bytes: float = 0.0
    lambda_ms: float = 0.0


@dataclass
class Measured:
    """Per invoice from importing a synthetic book, per action from the benches' scenarios,
    touches from the outcomes lab."""
    import_write_units: float = 0.0
    import_read_units: float = 0.0
    reimport_read_units: float = 0.0
    reimport_write_units: float = 0.0
    stored_bytes: float = 0.0
    import_lambda_ms: float = 0.0
    touch: Action = field(default_factory=lambda: Action(4, 24, 11, 9000, 300))
    payment: Action = field(default_factory=lambda: Action(10, 30, 30, 3000, 300))
    page_view: Action = field(default_factory=lambda: Action(3, 0, 3, 0, 120))
    sweep_tick: Action = field(default_factory=lambda: Action(8, 0, 8, 0, 400))
    touches_per_invoice: float = 2.4
    sms_share_of_touches: float = 0.2
    source: str = "local stack"
    detail: dict = field(default_factory=dict)


def _item_bytes(item: dict) -> int:
    return len(json.dumps(item, separators=(",", ":"))) + ITEM_OVERHEAD


@dataclass
class _Units:
    read_units: float = 0.0
    bytes_by_table: dict = field(default_factory=dict)
    elapsed: float = 0.0


@contextmanager
def _capacity():
    """Read units as DynamoDB on-demand bills them, ceil(bytes / 4 KB) RRUs per request
    (strongly consistent: the upper bound), and the bytes of every item put, by table
    (write units come from bench/write_units, which sizes items as billed)."""
    from pynamodb.connection.base import Connection

    units = _Units()
    real = Connection._make_api_call

    def wrote(table: str, item: dict) -> None:
        units.bytes_by_table[table] = units.bytes_by_table.get(table, 0) + _item_bytes(item)

    def counting(self, op, kwargs):
        if op == "PutItem":
            wrote(kwargs["TableName"], kwargs["Item"])
        elif op == "BatchWriteItem":
            for table, reqs in kwargs["RequestItems"].items():
                for r in reqs:
                    if "PutRequest" in r:
                        wrote(table, r["PutRequest"]["Item"])
        elif op == "TransactWriteItems":
            for t in kwargs["TransactItems"]:
                body = next(iter(t.values()))
                if "Item" in body:
                    wrote(body["TableName"], body["Item"])
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


@contextmanager
def _metered():
    """Read units and stored bytes (_capacity), write units as billed (bench/write_units)
    and requests (bench/meter) of everything in the block."""
    from bench.meter import metered
    from bench.write_units import counted

    # counted() first: its own before/after reads bypass the two meters inside it
    with counted() as wu, _capacity() as cap, metered() as m:
        t0 = time.perf_counter()
        yield wu, cap, m
        cap.elapsed = time.perf_counter() - t0


def _per(n: int, wu, cap, m) -> Action:
    return Action(read_units=cap.read_units / n, write_units=wu.total / n,
                  requests=sum(m.requests.values()) / n,
                  stored_bytes=_stored_bytes(cap.bytes_by_table) / n,
                  lambda_ms=cap.elapsed * 1000 / n)


def _measure_import(invoices: int) -> dict:
    from bench.books import generate
    from bench.import_book import _tenant
    from chalicelib.book.importer import import_book
    from chalicelib.kernel.clock import utcnow

    agency, client_id = _tenant(f"bench-cost-{invoices}-{time.time_ns()}")
    data = generate(invoices, prefix="COST")
    with _metered() as first:
        report = import_book(agency, client_id, data, actor="bench", now=utcnow())
    with _metered() as again:
        import_book(agency, client_id, data, actor="bench", now=utcnow())
    # per invoice that landed (rows the importer rejects cost nothing downstream)
    landed = report["counts"]["invoices_created"]
    assert landed > 0, report["counts"]
    a, b = _per(landed, *first), _per(landed, *again)
    return dict(import_write_units=a.write_units, import_read_units=a.read_units,
                reimport_read_units=b.read_units, reimport_write_units=b.write_units,
                stored_bytes=a.stored_bytes, import_lambda_ms=a.lambda_ms,
                detail={"invoices": landed, "rows": report["counts"]["lines_read"]})


def _measure_touch(accounts: int) -> Action:
    """One reminder: the consumer's work and its touch_sent delivery (inline locally)."""
    from bench.dispatch_rate import NOW, chased_book, drain_all

    chased_book(accounts, NOW)
    with _metered() as got:
        sent = drain_all(NOW)
    assert sent > 0
    return _per(sent, *got)


def _measure_payment_and_page(rounds: int = 10) -> tuple[Action, Action, Action]:
    """A Stripe webhook payment (ledger, events, thank-you, report), a hosted-page view,
    and an idle sweep tick (nothing due)."""
    os.environ.setdefault("RECOUP_LINK_SECRET", "bench-only-link-secret")
    from bench.payments import account, stripe_payment
    from chalicelib.dunning import sweep
    from chalicelib.kernel.clock import utcnow
    from chalicelib.payments import debtor_page, links

    agency, client_id, debtor_id = account()
    with _metered() as paid:
        for i in range(rounds):
            stripe_payment(agency, client_id, debtor_id, 5000 + i)
    token = links.make_token(agency, client_id, debtor_id, utcnow())
    with _metered() as viewed:
        for _ in range(rounds):
            _, client, debtor = links.open_link(token, utcnow())
            debtor_page.view(agency, client, debtor, utcnow())
    with _metered() as ticked:
        for _ in range(rounds):
            sweep.sweep(utcnow() - timedelta(days=3650))  # nothing is due ten years ago
    return _per(rounds, *paid), _per(rounds, *viewed), _per(rounds, *ticked)


def _lab_touches(debtors: int = 2000) -> tuple[float, float]:
    """Touches per invoice over its life and the SMS share, default playbook (one invoice
    per simulated debtor)."""
    from chalicelib.dunning.planner import CALL_TASK_MIN_MINOR, FINAL_NOTICE_MIN_MINOR
    from chalicelib.lab import playbooks, population, simulator
    from bench.outcomes import START

    seed = 2026
    people = population.population(debtors, seed, START)
    [default] = [pb for pb in playbooks.standard(FINAL_NOTICE_MIN_MINOR, CALL_TASK_MIN_MINOR)
                 if pb.name == "default"]
    f = simulator.run(people, default, seed)
    messages = sum(v for ch, v in f.by_channel.items() if ch in ("email", "sms"))
    return messages, (f.by_channel.get("sms", 0.0) / messages if messages else 0.0)


def measure(invoices: int = 1000, accounts: int = 100) -> Measured:
    """Every measured figure, on the running local stack."""
    m = Measured(**_measure_import(invoices))
    m.touch = _measure_touch(accounts)
    m.payment, m.page_view, m.sweep_tick = _measure_payment_and_page()
    m.touches_per_invoice, m.sms_share_of_touches = _lab_touches()
    return m


def monthly_cost(n_clients: int, m_invoices: int, measured: Measured,
                 alarms: int = 10, prices: dict = PRICES, est: dict = ESTIMATES) -> dict:
    """USD per month, by line. Pure arithmetic: tested without the stack."""
    p, e, m = prices, est, measured
    touches = m_invoices * m.touches_per_invoice
    sms = touches * m.sms_share_of_touches
    emails = touches - sms
    paid = m_invoices * e["paid_by_link_share"]
    page_views = m_invoices * e["debtor_page_views_per_invoice"]
    api = n_clients * e["api_requests_per_client"]
    reimports = max(0, e["books_per_client"] - 1) * m_invoices
    ticks = e["sweep_ticks_per_month"]

    wru = (m_invoices * m.import_write_units + reimports * m.reimport_write_units
           + touches * m.touch.write_units + paid * m.payment.write_units
           + page_views * m.page_view.write_units)
    rru = (m_invoices * m.import_read_units + reimports * m.reimport_read_units
           + touches * m.touch.read_units + paid * m.payment.read_units
           + ticks * m.sweep_tick.read_units + page_views * m.page_view.read_units
           + api * e["api_read_units_per_request"])
    stored_gb = (m_invoices * e["months_retained"]
                 * (m.stored_bytes + m.touches_per_invoice * m.touch.stored_bytes
                    + e["paid_by_link_share"] * m.payment.stored_bytes)) / 1e9
    invocations = (touches + ticks + e["hourly_jobs_per_month"]
                   + api + page_views + paid + n_clients * e["books_per_client"])
    lambda_ms = (touches * m.touch.lambda_ms + ticks * m.sweep_tick.lambda_ms
                 + e["hourly_jobs_per_month"] * e["job_lambda_ms"]
                 + page_views * m.page_view.lambda_ms + paid * m.payment.lambda_ms
                 + api * e["api_lambda_ms"]
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
    m = measure(20_000 if full else 4000, 400 if full else 100)
    print(f"cost_measured_invoices: {m.detail['invoices']} invoices")
    print(f"cost_measured_import_write_units_per_invoice: {m.import_write_units:.3f} WCU")
    print(f"cost_measured_import_read_units_per_invoice: {m.import_read_units:.3f} RRU")
    print(f"cost_measured_reimport_read_units_per_invoice: {m.reimport_read_units:.3f} RRU")
    print(f"cost_measured_stored_bytes_per_invoice: {m.stored_bytes:.0f} bytes")
    for name, a in (("touch", m.touch), ("payment", m.payment), ("page_view", m.page_view),
                    ("sweep_tick", m.sweep_tick)):
        print(f"cost_measured_{name}_requests: {a.requests:.1f} requests")
        print(f"cost_measured_{name}_read_units: {a.read_units:.1f} RRU")
        print(f"cost_measured_{name}_write_units: {a.write_units:.1f} WCU")
        print(f"cost_measured_{name}_stored_bytes: {a.stored_bytes:.0f} bytes")
        print(f"cost_measured_{name}_ms: {a.lambda_ms:.0f} ms")
    print(f"cost_measured_touches_per_invoice: {m.touches_per_invoice:.2f} touches")
    print(f"cost_measured_sms_share_of_touches: {m.sms_share_of_touches:.3f} ratio")
    alarms = _alarm_count()
    for n, mi in SCENARIOS:
        lines = monthly_cost(n, mi, m, alarms)
        print(f"cost_per_month_N{n}_M{mi}: {lines['total']:.2f} usd")
        if (n, mi) == SCENARIOS[0]:
            email_only = monthly_cost(n, mi, Measured(**{**m.__dict__,
                                                         "sms_share_of_touches": 0.0}), alarms)
            print(f"cost_per_month_N{n}_M{mi}_email_only: {email_only['total']:.2f} usd")
            for k, v in lines.items():
                if k != "total":
                    print(f"cost_N{n}_M{mi}_{k}: {v:.2f} usd")
    # per 10k invoices chased a month (20 clients of 500), against a commercial plan
    per = monthly_cost(20, 10_000, m, alarms)
    no_sms = monthly_cost(20, 10_000, Measured(**{**m.__dict__, "sms_share_of_touches": 0.0}),
                          alarms)
    print(f"cost_per_month_10k_invoices_chased: {per['total']:.2f} usd")
    print(f"cost_per_invoice_chased: {per['total'] / 10_000:.4f} usd")
    print(f"cost_per_invoice_chased_email_only: {no_sms['total'] / 10_000:.4f} usd")
    print(f"cost_per_invoice_chased_without_messages: "
          f"{(per['total'] - per['ses'] - per['sns_sms']) / 10_000:.4f} usd")
    for plan, usd in COMMERCIAL_PER_INVOICE_USD.items():
        print(f"commercial_{plan}_per_invoice: {usd:.4f} usd")
