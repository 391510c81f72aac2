"""Payment history: a book with settled invoices and their paid dates lands as history that is
never chased and leaves the client's report alone; settlement dates are kept for invoices
paid in the book, gone from it, or paid through Recoup."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from chalicelib.book import importer
from chalicelib.book.invoices import payment_history
from chalicelib.reporting import reports
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, InvoiceModel
from tests.conftest import FIXED_NOW, make_tenant
from tests.integration.dunning_kit import debtor, entries, run_cadence, sent_emails

NOW = FIXED_NOW  # Wednesday 25 Nov 2026, 10:00 UTC
HEADER = ("debtor_ref,debtor_name,email,timezone,country,invoice_number,issue_date,due_date,"
          "currency,amount,amount_paid,paid_date,disputed")
PLAIN_HEADER = ("debtor_ref,debtor_name,email,timezone,country,invoice_number,issue_date,"
                "due_date,currency,amount,amount_paid")


def line(ref: str, number: str, issued: str, due: str, amount: str, paid: str = "0.00",
         paid_on: str = "", disputed: str = "") -> str:
    return (f"{ref},{ref} Ltd,ap@{ref.lower()}.example.com,Europe/London,GB,{number},{issued},"
            f"{due},GBP,{amount},{paid},{paid_on},{disputed}")


# H1 has two settled invoices (one paid late, one disputed before it was paid) and one open
# invoice a week overdue; H2 only settled history, all of it long past due.
HISTORY = [
    line("H1", "INV-H1", "2026-08-01", "2026-08-31", "300.00", "300.00", "2026-09-14"),
    line("H1", "INV-H2", "2026-09-01", "2026-09-30", "120.00", "120.00", "2026-10-02", "yes"),
    line("H1", "INV-H3", "2026-10-18", "2026-11-18", "200.00"),
    line("H2", "INV-H4", "2026-07-01", "2026-07-31", "80.00", "80.00", "2026-07-29", "no"),
    line("H2", "INV-H5", "2026-09-10", "2026-10-10", "45.50", "45.50", "2026-11-02"),
]


def book(rows: list[str], header: str = HEADER) -> bytes:
    if header == PLAIN_HEADER:  # the same rows without the paid-date and disputed columns
        rows = [",".join(r.split(",")[:11]) for r in rows]
    return ("\n".join([header, *rows]) + "\n").encode()


def load(tenant, data: bytes, *, now=NOW, mode: str = "full") -> dict:
    from local.resources import verify_sender

    verify_sender(ClientModel.get(tenant.agency_id, tenant.client_id).sender_email)
    report = importer.import_book(tenant.agency_id, tenant.client_id, data, actor="test",
                                  now=now, mode=mode)
    assert report["errors"] == [], report["errors"]
    return report


def stored(tenant) -> dict[str, InvoiceModel]:
    return {i.number: i for i in InvoiceModel.by_client_number.query(
        client_key(tenant.agency_id, tenant.client_id))}


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def test_settled_rows_are_stored_paid_with_their_dates_and_only_the_open_invoice_is_chased(tenant):
    # GIVEN a book with settled invoices (paid dates, one disputed) and one open invoice
    report = load(tenant, book(HISTORY))
    assert report["counts"]["invoices_created"] == 5
    inv = stored(tenant)
    # THEN the settled ones are stored paid, with the day the book says they were paid
    for number, paid_on in (("INV-H1", "2026-09-14"), ("INV-H2", "2026-10-02"),
                            ("INV-H4", "2026-07-29"), ("INV-H5", "2026-11-02")):
        i = inv[number]
        assert (i.status, int(i.balance_minor), i.paid_on, i.settled_source) == (
            "paid", 0, paid_on, "book")
        assert i.paid_earliest == i.paid_latest == paid_on
        assert i.open_key is None  # not in the open-by-due index the chasing jobs read
    assert inv["INV-H2"].disputed_in_book is True and inv["INV-H4"].disputed_in_book is False
    assert inv["INV-H3"].status == "open" and inv["INV-H3"].paid_on is None
    # AND a debtor's settled history reads back in one query of its invoices
    h1 = debtor(tenant, "H1")
    history = payment_history(tenant.agency_id, tenant.client_id, h1.debtor_id)
    assert [(h["number"], h["issue_date"], h["due_date"], h["paid_on"], h["total_minor"],
             h["was_disputed"]) for h in history] == [
        ("INV-H1", "2026-08-01", "2026-08-31", "2026-09-14", 30000, False),
        ("INV-H2", "2026-09-01", "2026-09-30", "2026-10-02", 12000, True)]
    # WHEN the timer fires and the consumer works the queue
    outcomes = run_cadence(NOW)
    # THEN only the open invoice is chased; the history-only account gets nothing
    assert outcomes == ["sent"]
    [mail] = sent_emails("ap@h1.example.com")
    assert "INV-H3" in mail["text"] and "INV-H1" not in mail["text"] and "INV-H2" not in mail["text"]
    assert "£200.00" in mail["text"]
    assert sent_emails("ap@h2.example.com") == []
    h2 = debtor(tenant, "H2")
    assert int(h2.balance_minor) == 0 and not h2.next_action_at
    assert entries(tenant, "H2", "touch_sent") == []
    # AND a week later the history account is still left alone
    run_cadence(NOW + timedelta(days=7))
    assert sent_emails("ap@h2.example.com") == []


def test_reimporting_the_history_book_converges(tenant):
    load(tenant, book(HISTORY))
    before = {n: (i.version, i.paid_on, i.paid_earliest, i.paid_latest, i.settled_source,
                  i.disputed_in_book) for n, i in stored(tenant).items()}
    # WHEN the same book is imported again, a day later
    report = load(tenant, book(HISTORY), now=NOW + timedelta(days=1))
    # THEN nothing changes
    c = report["counts"]
    assert (c["invoices_created"], c["invoices_updated"], c["settled_outside"]) == (0, 0, 0)
    assert c["invoices_unchanged"] == 5
    assert {n: (i.version, i.paid_on, i.paid_earliest, i.paid_latest, i.settled_source,
                i.disputed_in_book) for n, i in stored(tenant).items()} == before


def _figures(tenant, day: date) -> dict:
    f = reports.build(ClientModel.get(tenant.agency_id, tenant.client_id), day)["figures"]
    for r in f["top_overdue_debtors"]:
        r.pop("debtor_id")  # ids are per agency
    return f


def test_history_rows_leave_the_report_figures_alone(tenant, tenants):
    a, b = tenants
    c = make_tenant("agC")
    # GIVEN the same book imported with its paid dates (a), without them (b), and only its
    # open invoice (c)
    load(a, book(HISTORY))
    load(b, book(HISTORY, PLAIN_HEADER))
    load(c, book([r for r in HISTORY if "INV-H3" in r]))
    with_dates, without, open_only = (_figures(t, NOW.date()) for t in (a, b, c))
    # THEN paid dates move no figure at all
    assert with_dates == without
    # AND the settled history adds nothing to what is owed, overdue or collected this month:
    # money paid before the agency took over is never counted as collected by it
    for name in ("receivables_minor", "overdue_minor", "aging", "top_overdue_debtors"):
        assert with_dates[name] == open_only[name], name
    assert with_dates["collected"] == open_only["collected"]
    assert with_dates["collected"]["total_minor"] == 0
    assert with_dates["average_days_to_pay"]["invoices"] == 0


def test_invoices_settled_in_the_book_or_gone_from_it_keep_the_days_they_were_paid_between(tenant):
    rows = [line("G1", "INV-G1", "2026-10-01", "2026-10-31", "100.00"),
            line("G1", "INV-G2", "2026-10-01", "2026-10-31", "100.00"),
            line("G1", "INV-G3", "2026-10-01", "2026-10-31", "100.00"),
            line("G1", "INV-G4", "2026-10-01", "2026-10-31", "100.00")]
    load(tenant, book(rows))  # 25 Nov: all four owed
    # a partial import on 27 Nov shows a part payment on G3 (so it was still owed then)
    load(tenant, book([line("G1", "INV-G3", "2026-10-01", "2026-10-31", "100.00", "40.00")]),
         now=NOW + timedelta(days=2), mode="partial")
    # WHEN the full book of 30 Nov shows G1 paid without a date, G2 paid on 28 Nov, and has
    # lost G3 and G4
    later = NOW + timedelta(days=5)
    report = load(tenant, book([
        line("G1", "INV-G1", "2026-10-01", "2026-10-31", "100.00", "100.00"),
        line("G1", "INV-G2", "2026-10-01", "2026-10-31", "100.00", "100.00", "2026-11-28")]),
        now=later)
    assert report["counts"]["settled_outside"] == 2
    inv = stored(tenant)
    # THEN each keeps what is known of when it was paid
    got = {n: (inv[n].status, inv[n].paid_on, inv[n].paid_earliest, inv[n].paid_latest,
               inv[n].settled_source) for n in ("INV-G1", "INV-G2", "INV-G3", "INV-G4")}
    assert got == {
        "INV-G1": ("paid", None, "2026-11-25", "2026-11-30", "book"),
        "INV-G2": ("paid", "2026-11-28", "2026-11-28", "2026-11-28", "book"),
        "INV-G3": ("settled_outside", None, "2026-11-27", "2026-11-30", "gone_from_book"),
        "INV-G4": ("settled_outside", None, "2026-11-25", "2026-11-30", "gone_from_book"),
    }
    # AND the same book again changes nothing (the bounds stay those first seen)
    again = load(tenant, book([
        line("G1", "INV-G1", "2026-10-01", "2026-10-31", "100.00", "100.00"),
        line("G1", "INV-G2", "2026-10-01", "2026-10-31", "100.00", "100.00", "2026-11-28")]),
        now=later + timedelta(days=3))
    assert again["counts"]["invoices_updated"] == 0 and again["counts"]["settled_outside"] == 0
    assert {n: (inv2.status, inv2.paid_on, inv2.paid_earliest, inv2.paid_latest,
                inv2.settled_source) for n, inv2 in stored(tenant).items()} == got
    # AND an invoice back in the book with money owed is no longer paid
    load(tenant, book([line("G1", "INV-G4", "2026-10-01", "2026-10-31", "100.00")]),
         now=later + timedelta(days=4), mode="partial")
    g4 = stored(tenant)["INV-G4"]
    assert (g4.status, g4.paid_on, g4.paid_earliest, g4.settled_source) == ("open", None, None, None)


def test_a_payment_through_recoup_records_the_day_the_money_arrived(tenant):
    from chalicelib.payments import ledger

    load(tenant, book([line("P1", "INV-P1", "2026-10-01", "2026-10-31", "100.00"),
                       line("P1", "INV-P2", "2026-10-05", "2026-11-04", "100.00")]))
    d = debtor(tenant, "P1")
    inv = stored(tenant)
    # WHEN a bank transfer received yesterday pays P1 in full and P2 in part
    ledger.apply_payment(tenant.agency_id, tenant.client_id, d.debtor_id, amount_minor=15000,
                         currency="GBP", source="transfer", payment_id="p-hist-1",
                         received_on=date(2026, 11, 24), now=NOW, actor="test",
                         invoice_ids=[inv["INV-P1"].invoice_id, inv["INV-P2"].invoice_id])
    inv = stored(tenant)
    # THEN the invoice it settled records that day, through Recoup; the part-paid one none
    p1, p2 = inv["INV-P1"], inv["INV-P2"]
    assert (p1.status, p1.paid_on, p1.paid_earliest, p1.paid_latest, p1.settled_source) == (
        "paid", "2026-11-24", "2026-11-24", "2026-11-24", "recoup")
    assert (p2.status, p2.paid_on, p2.settled_source) == ("part_paid", None, None)
    assert [h["number"] for h in payment_history(tenant.agency_id, tenant.client_id,
                                                 d.debtor_id)] == ["INV-P1"]
    # AND a refund that reopens it clears the paid day
    ledger.reverse_payment(tenant.agency_id, tenant.client_id, d.debtor_id,
                           payment_id="p-hist-1", amount_minor=15000, kind="refund",
                           reversal_id="r-hist-1", now=NOW + timedelta(days=1), reason="test")
    p1 = stored(tenant)["INV-P1"]
    assert int(p1.balance_minor) > 0 and (p1.paid_on, p1.settled_source) == (None, None)
