"""A test-sized version of the 20,000-invoice client (issue 12): a 2,000-invoice book goes
through the real import, a re-import and a payment, and the client's report shows the
file's open total every time (the import record is there too)."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from chalicelib.agency import clients
from chalicelib.book import importer
from chalicelib.http.auth import Principal
from chalicelib.http.schemas import ClientIn
from chalicelib.payments import ledger
from chalicelib.reporting import reports, store as report_store
from chalicelib.store.models import ClientModel, InvoiceModel

HEADER = ("debtor_ref,debtor_name,contact_name,email,secondary_email,phone,timezone,country,"
          "invoice_number,reference,issue_date,due_date,currency,amount,amount_paid\n")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
INVOICES, DEBTORS = 2_000, 200


def _rows(seed: int = 3) -> list[list]:
    """[debtor, number, issue, due, total, paid] in minor units."""
    rnd = random.Random(seed)
    rows = []
    for n in range(INVOICES):
        issue = T0.date() - timedelta(days=rnd.randint(0, 150))
        total = rnd.randint(500, 2_500_000)
        rows.append([n % DEBTORS, n, issue, issue + timedelta(days=rnd.choice((7, 30, 60))),
                     total, rnd.choice((0, 0, 0, total // 3, total))])
    return rows


def _csv(rows: list[list]) -> bytes:
    def money(m: int) -> str:
        return f"{m // 100}.{m % 100:02d}"

    return (HEADER + "".join(
        f"D{d:04d},Debtor {d} Ltd,,ap{d}@d{d}.example.com,,,Europe/London,GB,N-{n:05d},,"
        f"{issue},{due},GBP,{money(total)},{money(paid)}\n"
        for d, n, issue, due, total, paid in rows)).encode()


def _open_total(rows: list[list]) -> int:
    return sum(total - paid for *_, total, paid in rows)


def test_a_2000_invoice_book_reports_the_files_open_total(aws, monkeypatch):
    # as on the local stack: moto's transactions roll back by item, not by copying tables
    from moto.dynamodb.models import DynamoDBBackend

    from local import moto_speedups

    moto_speedups.install_transactions()
    monkeypatch.setattr(DynamoDBBackend, "transact_write_items",
                        moto_speedups.transact_write_items)
    admin = Principal("scale", "admin", "admin")
    cid = clients.create_client(admin, ClientIn(name="Big Book Ltd",
                                                sender_email="ar@big.example.com"), now=T0)["id"]
    client = ClientModel.get("scale", cid)
    rows = _rows()

    # WHEN the client's whole book is imported
    first = importer.import_book("scale", cid, _csv(rows), actor="t", now=T0)

    # THEN the import is recorded and the report shows the file's open total
    assert first["counts"]["invoices_created"] == INVOICES
    assert [i["import_id"] for i in importer.list_imports("scale", cid)] == [first["import_id"]]
    taken_over = _open_total(rows)
    report = reports.build(client, T0.date())
    assert report["figures"]["receivables_minor"] == taken_over
    assert report["baseline"]["receivables_minor"] == taken_over

    # WHEN the next file has 300 invoices paid off and 100 gone (settled outside)
    later = T0 + timedelta(days=1)
    for row in rows[:300]:
        row[5] = row[4]
    kept = rows[:1_800] + rows[1_900:]
    importer.import_book("scale", cid, _csv(kept), actor="t", now=later)

    # THEN the report shows the new file's open total; the baseline stays the takeover's
    assert len(importer.list_imports("scale", cid)) == 2
    report = reports.build(client, later.date())
    assert report["figures"]["receivables_minor"] == _open_total(kept)
    assert report["baseline"]["receivables_minor"] == taken_over

    # WHEN a debtor pays part of one open invoice
    d, n, _, _, total, paid = next(r for r in kept if r[5] == 0)
    inv = next(i for i in InvoiceModel.by_client_number.query(f"scale#{cid}")
               if i.number == f"N-{n:05d}")
    ledger.apply_payment("scale", cid, inv.debtor_id, amount_minor=total // 2, currency="GBP",
                         source="transfer", payment_id="pay-scale-1", invoice_ids=[inv.invoice_id],
                         received_on=later.date(), now=later, actor="t")

    # THEN receivables fall by exactly that amount
    after_pay = reports.build(client, later.date())["figures"]["receivables_minor"]
    assert after_pay == _open_total(kept) - total // 2
    agg = report_store.load("scale", cid, "GBP").agg
    assert agg.receivables_on(date(2100, 1, 1)) == after_pay
