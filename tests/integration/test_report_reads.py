"""Reads stay flat as a book grows (issue 12): building a client's report, applying one
payment to it and opening the portal dashboard read about as many DynamoDB items for a
2,000-invoice book (1,000 debtors) as for a 200-invoice one (100 debtors), and the bounded
report says what reading every debtor says."""
from __future__ import annotations

import random

import pytest
from datetime import date, datetime, timedelta, timezone

from bench.meter import metered
from chalicelib.agency import clients
from chalicelib.http.auth import Principal
from chalicelib.http.schemas import ClientIn
from chalicelib.reporting import client_portal, reports, subscribers
from chalicelib.reporting import store as report_store
from chalicelib.store.models import ClientModel

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
AS_OF = T0.date()


def _state(n: int, debtors: int, rnd: random.Random) -> dict:
    issue = AS_OF - timedelta(days=rnd.randint(0, 150))
    total = rnd.randint(500, 2_500_000)
    paid = rnd.choice((0, 0, 0, total // 3, total))
    disputed = n % 50 == 7 and n < 200  # as many disputes in either book
    return {"invoice_id": f"i{n:06d}", "debtor_id": f"d{n % debtors:05d}", "number": f"N-{n:06d}",
            "issue_date": issue.isoformat(),
            "due_date": (issue + timedelta(days=rnd.choice((7, 14, 30, 60)))).isoformat(),
            "currency": "GBP", "total_minor": total, "balance_minor": total - paid,
            "status": "disputed" if disputed else "open",
            "dispute": {"reason": "quality", "opened_at": T0.isoformat()} if disputed else None,
            "paid_outside": [[issue.isoformat(), paid]] if paid else [], "version": 1}


def _client(agency: str, invoices: int, per_debtor: int = 2
            ) -> tuple[Principal, ClientModel, list[dict]]:
    """A client whose report aggregate holds a book of ``invoices`` (``per_debtor`` each),
    applied as the importer announces one (the invoices themselves are not needed)."""
    admin = Principal(agency, "admin", "admin")
    cid = clients.create_client(admin, ClientIn(name="C", sender_email="a@c.example.com"),
                                now=T0)["id"]
    rnd = random.Random(5)
    states = [_state(n, invoices // per_debtor, rnd) for n in range(invoices)]
    subscribers.on_invoice_changed(agency, cid, changes=[
        {"debtor_id": s["debtor_id"], "invoice_id": s["invoice_id"], "old": None, "new": s}
        for s in states], batch_id=f"import:{agency}", at=T0, import_mode="full")
    return admin, ClientModel.get(agency, cid), states


def _items(call) -> int:
    with metered() as m:
        call()
    return m.items_billed


@pytest.fixture
def fast_transactions(aws, monkeypatch):
    """As on the local stack: moto's transactions roll back by item, not by copying tables."""
    from moto.dynamodb.models import DynamoDBBackend

    from local import moto_speedups

    moto_speedups.install_transactions()
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items",
                        moto_speedups.transact_write_items)


def test_reading_a_report_does_not_grow_with_the_book(fast_transactions):
    small = _client("small", 200)
    big = _client("big", 2_000)
    reads = {}
    for name, (admin, client, states) in (("small", small), ("big", big)):
        # the bounded report says what reading every debtor says
        report = reports.build(client, AS_OF)
        full = report_store.load(client.agency_id, client.client_id, "GBP").agg
        want = full.figures(AS_OF)
        keys = ("debtor_id", "overdue_minor", "disputed_minor", "oldest_due_date")
        assert [{k: r[k] for k in keys} for r in report["figures"]["top_overdue_debtors"]] \
            == reports.plain(want["top_overdue_debtors"])
        assert report["figures"]["aging"] == want["aging"]
        assert report["figures"]["receivables_minor"] == want["receivables_minor"]
        summary = report_store.get_item(client.agency_id, client.client_id, "summary")
        assert summary["debtors_overdue"] == len(full.overdue_by_debtor(AS_OF))
        # the disputed invoices wait on the client, read from their own items
        dash = client_portal.dashboard(admin, client.client_id, AS_OF.isoformat(), today=AS_OF)
        assert sorted(r["number"] for r in dash["waiting"]["disputes"]) == sorted(
            s["number"] for s in states if s["status"] == "disputed" and s["balance_minor"])
        # WHEN the report, a payment and the dashboard are read
        inv = next(s for s in states if s["status"] == "open" and s["balance_minor"] > 10)
        payment = dict(agency_id=client.agency_id, client_id=client.client_id,
                       debtor_id=inv["debtor_id"], payment_id="p1", source="transfer",
                       allocations=[{"invoice_id": inv["invoice_id"], "amount_minor": 10}],
                       at=(T0 + timedelta(hours=1)).isoformat())
        reads[name] = (_items(lambda: reports.build(client, AS_OF)),
                       _items(lambda: subscribers.on_payment_applied(**payment)),
                       _items(lambda: client_portal.dashboard(admin, client.client_id,
                                                              AS_OF.isoformat(), today=AS_OF)))
    # THEN ten times the book reads at most 1.2 times the items
    for what, s, b in zip(("report", "payment", "dashboard"), reads["small"], reads["big"]):
        assert b <= 1.2 * s, f"{what}: {s} items at 200 invoices, {b} at 2,000"


def test_the_ranking_follows_payments_and_the_top_list_stays_exact(fast_transactions):
    admin, client, states = _client("moves", 300, per_debtor=10)
    # WHEN the most overdue debtors pay everything they owe, one payment per invoice
    first = reports.build(client, AS_OF)["figures"]["top_overdue_debtors"]
    gone = {r["debtor_id"] for r in first[:3]}
    for n, s in enumerate(x for x in states if x["debtor_id"] in gone):
        owed = s["balance_minor"]
        if owed > 0:
            subscribers.on_payment_applied(
                agency_id=client.agency_id, client_id=client.client_id,
                debtor_id=s["debtor_id"], payment_id=f"p{n}", source="link",
                allocations=[{"invoice_id": s["invoice_id"], "amount_minor": owed}],
                at=(T0 + timedelta(minutes=n)).isoformat())
    # THEN they leave the top list, which matches a read of every debtor
    after = reports.build(client, AS_OF)["figures"]["top_overdue_debtors"]
    assert not gone & {r["debtor_id"] for r in after}
    full = report_store.load(client.agency_id, client.client_id, "GBP").agg.figures(AS_OF)
    assert [r["debtor_id"] for r in after] == [r["debtor_id"] for r in full["top_overdue_debtors"]]
    bounded = report_store.read(client.agency_id, client.client_id, "GBP").agg
    for day in (AS_OF, AS_OF + timedelta(days=20), date(2027, 6, 1)):
        assert bounded.figures(day) == report_store.load(
            client.agency_id, client.client_id, "GBP").agg.figures(day)


def test_a_client_stored_before_the_ranking_gets_it_on_first_read(fast_transactions):
    admin, client, states = _client("older", 300, per_debtor=10)
    ckey = f"older#{client.client_id}"
    want = reports.build(client, AS_OF)
    # GIVEN the client as it was stored before the ranking (schema 2: debtor items only)
    conn = report_store._conn()
    table = report_store._table()
    for part in [p for p in report_store.load("older", client.client_id, "GBP").items
                 if p.startswith(("r#", "m#open#", "m#first#"))]:
        conn.dispatch("DeleteItem", {"TableName": table, "Key": report_store._key(ckey, "agg#" + part)})
    for it in report_store._query(ckey, "wait#", True):
        conn.dispatch("DeleteItem", {"TableName": table, "Key": report_store._key(ckey, it["part"]["S"])})
    conn.dispatch("UpdateItem", {"TableName": table, "Key": report_store._key(ckey, "agg#head"),
                                 "UpdateExpression": "SET #s = :s",
                                 "ExpressionAttributeNames": {"#s": "schema"},
                                 "ExpressionAttributeValues": {":s": {"N": "2"}}})
    # WHEN it is read THEN the report is the same, waiting invoices included
    again = reports.build(client, AS_OF)
    assert again["figures"] == want["figures"]
    assert [w["number"] for w in report_store.waiting("older", client.client_id)] == [
        s["number"] for s in sorted(
            (s for s in states if s["status"] == "disputed" and s["balance_minor"]),
            key=lambda s: (s["due_date"], s["number"]))]
