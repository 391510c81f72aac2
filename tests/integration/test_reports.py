"""Client reports on a small fixed book: the figures a client reads, computed by hand."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from chalicelib.http.auth import Principal
from chalicelib.http.schemas import InvoicePatch
from chalicelib.book import importer, invoices
from chalicelib.kernel import events
from chalicelib.reporting import reports
from chalicelib.store.keys import debtor_id_for
from chalicelib.store.models import ClientModel, InvoiceModel
from tests.conftest import FIXED_NOW

HEADER = ("debtor_ref,debtor_name,contact_name,email,secondary_email,phone,timezone,country,"
          "invoice_number,reference,issue_date,due_date,currency,amount,amount_paid\n")


def book(a_paid: str = "0.00") -> bytes:
    rows = [
        f"D1,Bramble Bakery,Bea,bea@bramble.example.com,,,Europe/London,GB,A,,2026-10-01,2026-10-31,GBP,1000.00,{a_paid}",
        "D1,Bramble Bakery,Bea,bea@bramble.example.com,,,Europe/London,GB,B,,2026-11-10,2026-12-10,GBP,500.00,200.00",
        "D2,Cobble Cars,Cy,cy@cobble.example.com,,,Europe/London,GB,C,,2026-08-01,2026-08-15,GBP,300.00,0.00",
        "D2,Cobble Cars,Cy,cy@cobble.example.com,,,Europe/London,GB,D,,2026-09-01,2026-09-30,GBP,200.00,200.00",
    ]
    return (HEADER + "\n".join(rows) + "\n").encode()


@pytest.fixture
def acme(tenants):
    a, _ = tenants
    importer.import_book(a.agency_id, a.client_id, book(), actor="t", now=FIXED_NOW)
    return a, ClientModel.get(a.agency_id, a.client_id)


def _invoice(a, number: str) -> InvoiceModel:
    return next(InvoiceModel.by_client_number.query(f"{a.agency_id}#{a.client_id}",
                                                    InvoiceModel.number == number))


def test_figures_of_the_fixed_book_match_the_hand_computation(acme):
    # GIVEN the four-invoice book imported on 25 Nov 2026
    a, client = acme
    # WHEN the client's report is built as of that day
    r = reports.build(client, date(2026, 11, 25))
    f = r["figures"]
    # THEN every figure is what the definitions give by hand
    assert f["receivables_minor"] == 160000 and f["overdue_minor"] == 130000
    assert f["aging"] == {"not_due": 30000, "1_30": 100000, "31_60": 0, "61_90": 0,
                          "90_plus": 30000}
    assert f["credit_sales_minor"] == 50000
    assert f["dso_countback"] == 71.0  # 25 (Nov) + 31 (Oct) + 30 × 10000/20000 (Sep)
    assert f["dso_simple"] == 80.0 and f["best_possible_dso"] == 15.0 and f["add"] == 65.0
    assert f["cei"] == 13.3  # (130000 + 50000 − 160000) ÷ (130000 + 50000 − 30000)
    assert f["collected"]["total_minor"] == 20000  # B's part payment, dated its issue day
    assert f["average_days_to_pay"] == {"invoices": 0, "plain": None, "weighted": None}
    top = f["top_overdue_debtors"]
    assert [(t["name"], t["overdue_minor"], t["oldest_due_date"]) for t in top] == [
        ("Bramble Bakery", 100000, "2026-10-31"), ("Cobble Cars", 30000, "2026-08-15")]
    # and the report explains itself and knows where the agency started
    assert "countback" in r["definitions"]["dso_countback"].lower()
    assert r["baseline"]["as_of"] == "2026-11-25"
    assert r["change_since_takeover"]["figures"]["receivables_minor"]["delta"] == 0


def test_payments_disputes_and_reimports_move_the_figures_once(acme):
    a, client = acme
    admin = Principal(a.agency_id, f"{a.agency_id}-admin", "admin")
    d1 = debtor_id_for(a.agency_id, a.client_id, "D1")
    d2 = debtor_id_for(a.agency_id, a.client_id, "D2")
    # GIVEN a dispute on C (pricing), a 300.00 link payment on B delivered twice, and a
    # re-import the next day in which the client's book shows 400.00 paid on A
    c = _invoice(a, "C")
    invoices.update_invoice(admin, a.client_id, d2, c.invoice_id,
                            InvoicePatch(status="disputed", reason="pricing"), now=FIXED_NOW)
    b = _invoice(a, "B")
    for _ in range(2):
        events.publish("payment_applied", agency_id=a.agency_id, client_id=a.client_id,
                       debtor_id=d1, payment_id="pay-1", amount_minor=30000, currency="GBP",
                       allocations=[{"invoice_id": b.invoice_id, "amount_minor": 30000}],
                       source="link", at="2026-11-26T09:00:00Z")
    importer.import_book(a.agency_id, a.client_id, book(a_paid="400.00"), actor="t",
                         now=FIXED_NOW + timedelta(days=1))
    # WHEN the client reads the report as of the 26th
    r = reports.build(client, date(2026, 11, 26))
    f = r["figures"]
    # THEN each movement counted once
    assert f["collected"]["by_source"]["link"] == 30000
    assert f["collected"]["total_minor"] == 20000 + 30000 + 40000
    assert f["receivables_minor"] == 160000 - 30000 - 40000
    assert f["average_days_to_pay"]["invoices"] == 1
    assert f["average_days_to_pay"]["plain"] == -14.0  # B settled 14 days before due
    cobble = next(t for t in f["top_overdue_debtors"] if t["name"] == "Cobble Cars")
    assert cobble["disputed_minor"] == 30000
    assert r["activity"]["disputes_opened"] == {"pricing": 1}
    # and the change since the agency took over is shown against the baseline
    change = r["change_since_takeover"]["figures"]
    assert change["receivables_minor"]["delta"] == -70000
    assert change["collected.total_minor"]["better"] is None or change[
        "collected.total_minor"]["delta"] >= 0
    assert r["change_since_takeover"]["from"] == "2026-11-25"


def test_a_day_before_the_latest_payment_comes_from_the_snapshot(acme):
    a, client = acme
    d1 = debtor_id_for(a.agency_id, a.client_id, "D1")
    b = _invoice(a, "B")
    events.publish("payment_applied", agency_id=a.agency_id, client_id=a.client_id,
                   debtor_id=d1, payment_id="pay-2", amount_minor=10000, currency="GBP",
                   allocations=[{"invoice_id": b.invoice_id, "amount_minor": 10000}],
                   source="transfer", at="2026-11-27T09:00:00Z")
    # WHEN the report is asked as of the 25th, before that payment
    r = reports.build(client, date(2026, 11, 25))
    # THEN the figures are those stored that day
    assert r["source"] == "snapshot of 2026-11-25"
    assert r["figures"]["receivables_minor"] == 160000
    # and a day before any snapshot is an honest 404
    from chalicelib.kernel.errors import NotFound

    with pytest.raises(NotFound):
        reports.build(client, date(2026, 11, 20))


def test_overview_shows_every_client_and_the_specialists_load(acme):
    a, _ = acme
    ov = reports.overview(Principal(a.agency_id, f"{a.agency_id}-admin", "admin"))
    row = next(c for c in ov["clients"] if c["client_id"] == a.client_id)
    assert row["receivables_minor"] == 160000 and row["debtors_overdue"] == 2
    (sam,) = ov["specialists"]
    assert sam["name"] == "Sam" and sam["by_currency"]["GBP"]["overdue_minor"] == 130000


def test_activity_from_other_capabilities_counts_once_per_event(acme):
    a, client = acme
    d1 = debtor_id_for(a.agency_id, a.client_id, "D1")
    # GIVEN dunning, workbench events as those capabilities publish them, each delivered twice
    for _ in range(2):
        events.publish("touch_sent", agency_id=a.agency_id, client_id=a.client_id, debtor_id=d1,
                       channel="email", step="s1", at="2026-11-25T09:00:00Z")
        events.publish("touch_sent", agency_id=a.agency_id, client_id=a.client_id, debtor_id=d1,
                       channel="sms", step="s2", at="2026-11-25T10:00:00Z")
        events.publish("escalation_changed", agency_id=a.agency_id, client_id=a.client_id,
                       debtor_id=d1, escalation_id="e1", status="requested",
                       at="2026-11-25T11:00:00Z")
        events.publish("escalation_changed", agency_id=a.agency_id, client_id=a.client_id,
                       debtor_id=d1, escalation_id="e1", status="recovered",
                       recovered_minor=5000, at="2026-11-25T12:00:00Z")
        events.publish("promise_recorded", agency_id=a.agency_id, client_id=a.client_id,
                       debtor_id=d1, promise_id="pr1", old=None,
                       new={"promised_on": "2026-11-01", "due_date": "2026-11-20",
                            "amount_minor": 1000, "kept": True}, at="2026-11-25T13:00:00Z")
        events.publish("promise_recorded", agency_id=a.agency_id, client_id=a.client_id,
                       debtor_id=d1, promise_id="pr2", old=None,
                       new={"promised_on": "2026-11-02", "due_date": "2026-11-21",
                            "amount_minor": 1000, "kept": False}, at="2026-11-25T14:00:00Z")
    # WHEN the client reads November's report
    r = reports.build(client, date(2026, 11, 25))
    # THEN each event counted once
    assert r["activity"]["touches"] == {"email": 1, "sms": 1}
    assert r["activity"]["escalations"] == 1 and r["activity"]["recoveries"] == 1
    assert r["activity"]["recoveries_minor"] == 5000
    assert r["figures"]["promise_kept_rate"] == {"due": 2, "kept": 1, "rate": 50.0}


def test_a_real_payment_and_its_refund_move_the_clients_report(acme):
    """The payments capability's own path (not a simulated event) feeds the report."""
    from chalicelib.payments import ledger as payments

    # GIVEN the fixed book and invoice A (£1,000 owed)
    a, client = acme
    inv = _invoice(a, "A")
    before = reports.build(client, FIXED_NOW.date())["figures"]
    # WHEN the debtor pays £400 by link, and then £150 of it is refunded
    pid = payments.payment_id_for("pi_report")
    payments.apply_payment(a.agency_id, a.client_id, inv.debtor_id, amount_minor=40000,
                           currency="GBP", source="link", payment_id=pid,
                           received_on=FIXED_NOW.date(), now=FIXED_NOW, actor="t",
                           invoice_ids=[inv.invoice_id])
    paid = reports.build(client, FIXED_NOW.date())["figures"]
    payments.reverse_payment(a.agency_id, a.client_id, inv.debtor_id, payment_id=pid,
                             amount_minor=15000, kind="refund", reason="goodwill",
                             reversal_id="re_1", now=FIXED_NOW)
    refunded = reports.build(client, FIXED_NOW.date())["figures"]
    # THEN collected rises by £400 (by link), then falls back by the £150 refunded
    assert paid["collected"]["total_minor"] == before["collected"]["total_minor"] + 40000
    assert paid["collected"]["by_source"].get("link", 0) == 40000
    assert paid["receivables_minor"] == before["receivables_minor"] - 40000
    assert refunded["collected"]["total_minor"] == before["collected"]["total_minor"] + 25000
    assert refunded["receivables_minor"] == before["receivables_minor"] - 25000
