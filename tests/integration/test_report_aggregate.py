"""Maintained report aggregates equal a recomputation from the stored invoices and payments,
whatever happens to a random book through the real import, invoice and payment paths."""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.http.auth import Principal
from chalicelib.reporting import kpis
from chalicelib.book.invoice_rules import OWED, status_for_balance
from chalicelib.http.schemas import ClientIn, InvoicePatch
from chalicelib.agency import clients
from chalicelib.book import importer, invoices
from chalicelib.kernel import events
from chalicelib.reporting import store as report_store
from chalicelib.reporting.rebuild import stored_facts
from chalicelib.store.models import DebtorModel, InvoiceModel, PaymentModel

HEADER = ("debtor_ref,debtor_name,contact_name,email,secondary_email,phone,timezone,country,"
          "invoice_number,reference,issue_date,due_date,currency,amount,amount_paid\n")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)

invoice_rows = st.lists(st.tuples(
    st.integers(0, 3),            # debtor
    st.integers(0, 200),          # issued this many days before T0
    st.sampled_from((0, 7, 30, 60)),
    st.integers(1, 500_000),      # total
    st.sampled_from((0, 0, 1, 2))), min_size=1, max_size=12)  # paid: none, none, a third, all
ops = st.lists(st.tuples(st.sampled_from(("pay", "dispute", "write_off", "hold", "reopen",
                                          "due", "reimport", "reverse")),
                         st.integers(0, 50), st.integers(1, 3)), max_size=8)


def _csv(rows: list[tuple]) -> bytes:
    lines = []
    for n, (d, ago, terms, total, paid_code) in enumerate(rows):
        issue = T0.date() - timedelta(days=ago)
        paid = {0: 0, 1: total // 3, 2: total}[paid_code]
        lines.append(f"R{d},Debtor {d},,d{d}@example.com,,,Europe/London,GB,N{n},,"
                     f"{issue},{issue + timedelta(days=terms)},GBP,{total // 100}.{total % 100:02d},"
                     f"{paid // 100}.{paid % 100:02d}")
    return (HEADER + "\n".join(lines) + "\n").encode()


def _pay(agency: str, client_id: str, inv: InvoiceModel, amount: int, pid: str, day: date):
    """What the payments capability does: record, allocate, lower the balance, publish."""
    PaymentModel(inv.debtor_key, pid, source="link", amount_minor=amount, currency="GBP",
                 received_on=day.isoformat(), created_at=day.isoformat(),
                 allocations=[{"invoice_id": inv.invoice_id, "amount_minor": amount}]).save()
    inv.balance_minor = int(inv.balance_minor) - amount
    inv.status = status_for_balance(int(inv.total_minor), int(inv.balance_minor), inv.status)
    invoices.index_fields(inv)
    inv.save()
    events.publish("payment_applied", agency_id=agency, client_id=client_id,
                   debtor_id=inv.debtor_id, payment_id=pid, amount_minor=amount, currency="GBP",
                   allocations=[{"invoice_id": inv.invoice_id, "amount_minor": amount}],
                   source="link", at=f"{day.isoformat()}T12:00:00Z")


def _reverse(agency: str, client_id: str, pay: PaymentModel):
    inv = InvoiceModel.get(pay.debtor_key, pay.allocations[0]["invoice_id"])
    inv.balance_minor = int(inv.balance_minor) + int(pay.amount_minor)
    inv.status = status_for_balance(int(inv.total_minor), int(inv.balance_minor), inv.status)
    invoices.index_fields(inv)
    inv.save()
    pay.delete()
    events.publish("payment_reversed", agency_id=agency, client_id=client_id,
                   debtor_id=inv.debtor_id, payment_id=pay.payment_id,
                   amount_minor=int(pay.amount_minor), currency="GBP",
                   allocations=pay.allocations, at="2026-11-20T10:00:00Z")


def _reimport_rows(agency: str, client_id: str, k: int) -> bytes:
    """The client's book as it stands, with one invoice paid off and one dropped."""
    invs = sorted(InvoiceModel.by_client_number.query(f"{agency}#{client_id}"),
                  key=lambda i: i.number)
    refs = {d.debtor_id: d.account_ref for d in DebtorModel.query(f"{agency}#{client_id}")}
    lines = []
    for n, inv in enumerate(invs):
        if n == k % len(invs) and len(invs) > 1:
            continue  # dropped from the book: settled outside
        total, bal = int(inv.total_minor), max(int(inv.balance_minor), 0)
        if n == (k + 1) % len(invs):
            bal = 0
        paid = total - bal
        ref = refs[inv.debtor_id]
        lines.append(f"{ref},Debtor,,x@example.com,,,Europe/London,GB,{inv.number},,"
                     f"{inv.issue_date},{inv.due_date},GBP,{total // 100}.{total % 100:02d},"
                     f"{paid // 100}.{paid % 100:02d}")
    return (HEADER + "\n".join(lines) + "\n").encode()


counter = {"n": 0}


@settings(max_examples=int(os.environ.get("RECOUP_HYPOTHESIS_EXAMPLES", "6")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=invoice_rows, steps=ops)
def test_maintained_aggregate_equals_recomputation(aws, rows, steps):
    # GIVEN a fresh client with a random book imported at onboarding
    counter["n"] += 1
    agency = f"hyp{counter['n']}"
    admin = Principal(agency, "admin", "admin")
    cid = clients.create_client(admin, ClientIn(name="Hyp", sender_email="a@hyp.example.com"), now=T0)["id"]
    importer.import_book(agency, cid, _csv(rows), actor="t", now=T0)
    day = T0.date()
    # WHEN payments, disputes, write-offs, due-date moves, re-imports and reversals happen
    for n, (op, pick, amount_part) in enumerate(steps):
        day += timedelta(days=1)
        invs = sorted(InvoiceModel.by_client_number.query(f"{agency}#{cid}"),
                      key=lambda i: i.number)
        inv = invs[pick % len(invs)]
        owed = inv.status in OWED and int(inv.balance_minor) > 0
        if op == "pay" and owed:
            amount = max(1, int(inv.balance_minor) * amount_part // 3)
            _pay(agency, cid, inv, amount, f"p{n}", day)
        elif op == "reverse":
            pays = list(PaymentModel.query(inv.debtor_key))
            if pays:
                _reverse(agency, cid, pays[0])
        elif op in ("dispute", "write_off", "hold", "reopen") and owed:
            status = {"dispute": "disputed", "write_off": "written_off", "hold": "on_hold",
                      "reopen": "open"}[op]
            invoices.update_invoice(admin, cid, inv.debtor_id, inv.invoice_id,
                                    InvoicePatch(status=status, reason="quality"),
                                    now=datetime.combine(day, T0.timetz()))
        elif op == "due":
            new_due = date.fromisoformat(inv.due_date) + timedelta(days=10 * amount_part)
            invoices.update_invoice(admin, cid, inv.debtor_id, inv.invoice_id,
                                    InvoicePatch(due_date=new_due),
                                    now=datetime.combine(day, T0.timetz()))
        elif op == "reimport":
            importer.import_book(agency, cid, _reimport_rows(agency, cid, pick), actor="t",
                                 now=datetime.combine(day, T0.timetz()))
    # THEN the maintained aggregate gives the same figures as a recomputation from the store
    agg = report_store.load(agency, cid, "GBP").agg
    facts = stored_facts(agency, cid, "GBP")
    as_of = max(day, agg.horizon or day)
    bounded = report_store.read(agency, cid, "GBP").agg  # what a report reads
    for when in (as_of, as_of + timedelta(days=45)):
        assert agg.figures(when) == kpis.figures_from_facts(facts, [], when, currency="GBP")
        assert bounded.figures(when) == agg.figures(when)
        assert bounded.debtors_overdue(when) == len(agg.overdue_by_debtor(when))
    # and every stored invoice's fact agrees with its balance
    by_id = {f.invoice_id: f for f in facts}
    for inv in InvoiceModel.by_client_number.query(f"{agency}#{cid}"):
        if inv.status in OWED:
            assert by_id[inv.invoice_id].balance_on(date(2100, 1, 1)) == int(inv.balance_minor)
