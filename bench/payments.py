"""Money-in cost on the local stack: DynamoDB requests and time per hosted-page view, per
applied payment and per Stripe webhook delivery (an account with 20 open invoices)."""
from __future__ import annotations

import json
import os
import statistics
import time
from datetime import date, timedelta

from bench.meter import metered

INVOICES = 20
ROUNDS = 20


def account():
    from chalicelib.http.auth import Principal
    from chalicelib.kernel.clock import utcnow
    from chalicelib.http.schemas import ClientIn, DebtorIn, InvoiceIn
    from chalicelib.agency import clients
    from chalicelib.book import debtors, invoices
    from chalicelib.store.models import AgencyModel
    from chalicelib.tables import create_tables

    create_tables()
    agency = f"bench-pay-{int(time.time())}"
    AgencyModel(agency, name="Bench", created_at="2026-01-01T00:00:00Z").save()
    admin = Principal(agency, "bench", "admin")
    c = clients.create_client(admin, ClientIn(name="Bench Ltd", sender_email="ar@b.example.com", settings={"chasing": "active"}), now=utcnow())
    d = debtors.create_debtor(admin, c["id"], DebtorIn(account_ref="B-1", name="Bench Debtor"), now=utcnow())
    start = utcnow().date() - timedelta(days=90)
    for n in range(INVOICES):
        invoices.create_invoice(admin, c["id"], d["id"], InvoiceIn(
            number=f"B-{n:03d}", issue_date=start + timedelta(days=n),
            due_date=start + timedelta(days=n + 30), total_minor=1_000_000), now=utcnow())
    return agency, c["id"], d["id"]


def _measure(label: str, fn) -> float:
    times, requests, meters = [], [], []
    for i in range(ROUNDS):
        with metered() as m:
            t0 = time.perf_counter()
            fn(i)
            times.append((time.perf_counter() - t0) * 1000)
        requests.append(sum(m.requests.values()))
        meters.append(m)
    median = statistics.median(requests)
    print(f"{label}_ms_median: {statistics.median(times):.1f} ms")
    print(f"{label}_dynamodb_requests: {median:.0f} requests")
    if os.environ.get("RECOUP_BENCH_BREAKDOWN") == "1":
        last = meters[-1]  # a steady round (the first ones warm caches)
        print(f"# {label}: requests by operation and table (last round)")
        for line in last.breakdown():
            print(line)
    return median


def stripe_payment(agency: str, client_id: str, debtor_id: str, i: int,
                   amount_minor: int = 10_000) -> None:
    """One signed checkout.session.completed delivery for the debtor, as Stripe sends it."""
    os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_bench_only")
    from chalicelib.kernel.clock import utcnow
    from chalicelib.payments import fulfilment
    from chalicelib.payments import stripe_gateway as gw

    event = {"id": f"evt_bench_{i}", "type": "checkout.session.completed", "data": {
        "object": {"id": f"cs_bench_{i}", "amount_total": amount_minor, "currency": "gbp",
                   "payment_status": "paid", "payment_intent": f"pi_bench_{i}",
                   "metadata": {"agency_id": agency, "client_id": client_id,
                                "debtor_id": debtor_id, "invoice_ids": "",
                                "attempt_id": f"ca-bench-{i}"}}}}  # as our checkouts set
    payload = json.dumps(event)
    fulfilment.handle(payload, gw.sign(payload, None, int(utcnow().timestamp())), utcnow())


def run(full: bool = False) -> None:
    os.environ.setdefault("RECOUP_LINK_SECRET", "bench-only-link-secret")
    os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_bench_only")
    from chalicelib.kernel.clock import utcnow
    from chalicelib.payments import debtor_page, ledger as payments, links

    agency, client_id, debtor_id = account()
    token = links.make_token(agency, client_id, debtor_id, utcnow())

    def page(_):
        _, client, debtor = links.open_link(token, utcnow())
        debtor_page.view(agency, client, debtor, utcnow())

    def manual(i):
        payments.apply_payment(agency, client_id, debtor_id, amount_minor=10_000,
                               currency="GBP", source="transfer",
                               payment_id=payments.payment_id_for("bench", str(i)),
                               received_on=date.today(), now=utcnow(), actor="bench")

    def webhook(i):
        stripe_payment(agency, client_id, debtor_id, i)

    _measure("debtor_page_view", page)
    _measure("apply_payment", manual)
    _measure("stripe_webhook_payment", webhook)
    # As deployed: the request commits the payment with its event and returns; the outbox
    # stream delivers to the consumers (thank-you, report, workbench) in another Lambda.
    from chalicelib.kernel import events

    inline = events.after_commit
    events.after_commit = lambda items: None
    try:
        api = _measure("apply_payment_request_path", lambda i: manual(1000 + i))
        hook = _measure("stripe_webhook_payment_request_path", lambda i: webhook(1000 + i))
    finally:
        events.after_commit = inline
    # the issue's names for the same two figures (tests/integration/test_dispatch_requests.py
    # holds both at or below 8)
    print(f"payment_api_requests: {api:.0f} requests")
    print(f"payment_webhook_requests: {hook:.0f} requests")
