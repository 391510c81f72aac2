"""Writes per event flat (issue 12): DynamoDB write units consumed by one payment, one import
row change, one dispute and one promise, at 1,000 invoices and at a bigger book, and their
ratio (goal ≤ 1.2). Units are counted as DynamoDB bills them (bench/write_units.py), for
the whole operation and for the report tables alone (aggregate counters, contributions,
markers, snapshots).

Sizes: RECOUP_BENCH_WRITES_SIZES (default "1000,5000"); --full runs 1000 and 20000.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone

from bench.books import generate
from bench.write_units import counted

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
REPORT_TABLES = ("reports", "report_contributions")


def _client(agency: str):
    from chalicelib.agency import clients
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import ClientIn
    from chalicelib.store.models import ClientModel
    from chalicelib.tables import create_tables

    create_tables()
    c = clients.create_client(Principal(agency, "bench", "admin"),
                              ClientIn(name="Bench Ltd", sender_email="ar@bench.example.com"),
                              now=NOW)
    return ClientModel.get(agency, c["id"])


def _one_row_changed(book: bytes) -> bytes:
    """The same file with the first unpaid invoice's paid amount raised by 1.00."""
    lines = book.decode().splitlines()
    for n, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if cells[-1] == "0.00":
            cells[-1] = "1.00"
            lines[n] = ",".join(cells)
            break
    return ("\n".join(lines) + "\n").encode()


def _measure(size: int) -> dict[str, tuple[int, int]]:
    from chalicelib.book import importer, invoices
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import InvoicePatch
    from chalicelib.payments import ledger
    from chalicelib.store.models import InvoiceModel
    from chalicelib.workbench import promises
    from local.progress import bar

    agency = f"bench-writes-{size}"
    client = _client(agency)
    cid = client.client_id
    book = generate(size)
    importer.import_book(agency, cid, book, actor="bench", progress=bar(f"seed {size}"), now=NOW)
    open_invoices = [i for i in InvoiceModel.by_client_number.query(f"{agency}#{cid}")
                     if i.status == "open" and int(i.balance_minor) > 10_000]
    pay, dispute = open_invoices[0], open_invoices[1]
    out: dict[str, tuple[int, int]] = {}
    later = NOW + timedelta(hours=1)

    with counted() as m:
        ledger.apply_payment(agency, cid, pay.debtor_id, amount_minor=5_000, currency="GBP",
                             source="transfer", payment_id=f"bench-pay-{size}",
                             invoice_ids=[pay.invoice_id], received_on=later.date(),
                             now=later, actor="bench")
    out["payment"] = (m.total, m.on(*REPORT_TABLES))
    with counted() as m:
        importer.import_book(agency, cid, _one_row_changed(book), actor="bench",
                             now=later + timedelta(minutes=5))
    out["import_row_change"] = (m.total, m.on(*REPORT_TABLES))
    with counted() as m:
        invoices.update_invoice(Principal(agency, "bench", "admin"), cid, dispute.debtor_id,
                                dispute.invoice_id,
                                InvoicePatch(status="disputed", reason="quality"),
                                now=later + timedelta(minutes=10))
    out["dispute"] = (m.total, m.on(*REPORT_TABLES))
    with counted() as m:
        promises.record(agency, cid, dispute.debtor_id, amount_minor=10_000, currency="GBP",
                        promised_for=date(2026, 12, 4), taken_by="bench",
                        now=later + timedelta(minutes=15))
    out["promise"] = (m.total, m.on(*REPORT_TABLES))
    return out


def run(full: bool = False) -> None:
    import logging

    os.environ.setdefault("RECOUP_STAGE", "bench")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sizes = (1_000, 20_000) if full else tuple(
        int(s) for s in os.environ.get("RECOUP_BENCH_WRITES_SIZES", "1000,5000").split(","))
    small, big = sizes[0], sizes[-1]
    results = {size: _measure(size) for size in (small, big)}
    for size, rows in results.items():
        for event, (total, report) in rows.items():
            print(f"write_units_{event}_{size}: {total} WCU")
            print(f"write_units_{event}_report_{size}: {report} WCU")
    for event in results[small]:
        for i, label in ((0, ""), (1, "_report")):
            ratio = results[big][event][i] / max(results[small][event][i], 1)
            print(f"write_units_{event}{label}_ratio_{big}_vs_{small}: {ratio:.2f} x")
