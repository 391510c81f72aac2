"""Importing a client's book: row errors reported, good rows land, re-imports are
idempotent, an updated book updates balances and settles vanished invoices."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest

from chalicelib.store.keys import client_key
from chalicelib.store.models import DebtorModel, InvoiceModel, TimelineModel
from tests.conftest import BOOKS

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def tenant(tenants):
    return tenants[0]


def _import(t, data: bytes, **kw):
    from chalicelib.book.importer import import_book

    return import_book(t.agency_id, t.client_id, data, actor="test", now=NOW, **kw)


def _invoices(t):
    return {i.number: i for i in InvoiceModel.by_client_number.query(
        client_key(t.agency_id, t.client_id))}


def _expected_open_balance(path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    from decimal import Decimal

    return sum(int((Decimal(r["amount"]) - Decimal(r["amount_paid"])) * 100) for r in rows)


def test_generic_book_lands_whole(tenant):
    report = _import(tenant, (BOOKS / "acme_generic.csv").read_bytes())
    assert report["errors"] == []
    assert report["counts"]["invoices_created"] == 300
    assert report["counts"]["debtors_created"] == 40
    debtors = list(DebtorModel.query(client_key(tenant.agency_id, tenant.client_id)))
    assert sum(int(d.balance_minor) for d in debtors) == _expected_open_balance(
        BOOKS / "acme_generic.csv")


def test_reimport_of_the_same_file_changes_nothing(tenant):
    data = (BOOKS / "acme_generic.csv").read_bytes()
    _import(tenant, data)
    before = {n: (i.version, int(i.balance_minor)) for n, i in _invoices(tenant).items()}
    report = _import(tenant, data)
    c = report["counts"]
    assert (c["invoices_created"], c["invoices_updated"], c["settled_outside"],
            c["debtors_created"], c["debtors_updated"], c["contacts_written"]) == (0,) * 6
    assert c["invoices_unchanged"] == 300
    assert {n: (i.version, int(i.balance_minor)) for n, i in _invoices(tenant).items()} == before


def test_dirty_book_reports_each_bad_row_and_lands_the_rest(tenant):
    raw = (BOOKS / "dirty_generic.csv").read_bytes()
    report = _import(tenant, raw)
    lines = raw.decode("utf-8-sig").splitlines()
    bad_rows = {e["row"] for e in report["errors"]}
    assert len(bad_rows) == 12  # one row has two bad dates, so 13 errors
    assert all(lines[r - 1].split(",")[0].startswith("D9") for r in bad_rows)
    assert report["counts"]["invoices_created"] == len(lines) - 1 - 12
    fields = {e["field"] for e in report["errors"]}
    assert {"amount", "due_date", "currency", "email", "timezone", "phone"} <= fields
    stored = _invoices(tenant)
    assert "INV-B8" not in stored  # formula text never stored
    assert stored["INV-10000"].debtor_id != ""  # the first INV-10000 landed


def test_updated_book_updates_balances_and_settles_missing_invoices(tenant):
    data = (BOOKS / "acme_generic.csv").read_bytes().decode()
    _import(tenant, data.encode())
    rows = list(csv.DictReader(io.StringIO(data)))
    open_rows = [r for r in rows if r["amount"] != r["amount_paid"]]
    paid_now, dropped = open_rows[0], open_rows[1]
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    w.writeheader()
    for r in rows:
        if r is dropped:
            continue
        if r is paid_now:
            r = {**r, "amount_paid": r["amount"]}
        w.writerow(r)
    report = _import(tenant, out.getvalue().encode())
    assert report["counts"]["invoices_updated"] == 1
    assert report["counts"]["settled_outside"] == 1
    inv = _invoices(tenant)
    assert inv[paid_now["invoice_number"]].status == "paid"
    gone = inv[dropped["invoice_number"]]
    assert gone.status == "settled_outside" and int(gone.balance_minor) == 0
    entries = list(TimelineModel.query(gone.debtor_key))
    assert any(e.kind == "invoice_settled_outside" and dropped["invoice_number"] in e.summary
               for e in entries)  # history kept, nothing deleted
    assert len(inv) == 300


def test_xero_export_with_line_items_lands_one_invoice_each(tenant):
    report = _import(tenant, (BOOKS / "northwind_xero.csv").read_bytes())
    assert report["format"] == "xero" and report["errors"] == []
    assert report["counts"]["invoices_created"] == 150


def test_ambiguous_dates_are_asked_not_guessed(tenant):
    from chalicelib.kernel.errors import ValidationFailed

    csv_text = ("debtor_ref,debtor_name,email,invoice_number,issue_date,due_date,currency,amount,"
                "amount_paid\nD1,One Ltd,a@one.example.com,N1,01/02/2026,03/04/2026,GBP,10.00,0\n")
    with pytest.raises(ValidationFailed) as exc:
        _import(tenant, csv_text.encode())
    assert exc.value.fields[0].field == "date_order"
    report = _import(tenant, csv_text.encode(), date_order="MDY")
    assert _invoices(tenant)["N1"].due_date == "2026-03-04" and report["errors"] == []


def test_unprocessed_items_mid_import_resume_without_duplicates(tenant, monkeypatch):
    """Fault 5: DynamoDB returns unprocessed items; the batch retries; a re-run completes."""
    from pynamodb.connection.base import Connection

    real = Connection.batch_write_item
    calls = {"n": 0}

    def flaky(self, table_name, put_items=None, delete_items=None, **kw):
        calls["n"] += 1
        if calls["n"] == 2 and put_items:
            # First half is written, the rest comes back unprocessed (throttled).
            half = len(put_items) // 2
            real(self, table_name, put_items=put_items[:half], **kw)
            return {"UnprocessedItems": {table_name: [{"PutRequest": {"Item": i}}
                                                      for i in put_items[half:]]}}
        if calls["n"] == 4:
            raise RuntimeError("throttled: the import dies mid-way")
        return real(self, table_name, put_items=put_items, delete_items=delete_items, **kw)

    monkeypatch.setattr(Connection, "batch_write_item", flaky)
    data = (BOOKS / "acme_generic.csv").read_bytes()
    with pytest.raises(RuntimeError):
        _import(tenant, data)
    monkeypatch.setattr(Connection, "batch_write_item", real)
    _import(tenant, data)
    assert len(_invoices(tenant)) == 300
    debtors = list(DebtorModel.query(client_key(tenant.agency_id, tenant.client_id)))
    assert len(debtors) == 40


def test_a_rejected_row_in_a_full_book_does_not_settle_its_invoice(tenant):
    data = (BOOKS / "acme_generic.csv").read_bytes().decode()
    _import(tenant, data.encode())
    rows = list(csv.DictReader(io.StringIO(data)))
    victim = next(r for r in rows if r["amount"] != r["amount_paid"])
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({**r, "email": "not-an-email"} if r is victim else r)
    report = _import(tenant, out.getvalue().encode())
    assert [e["field"] for e in report["errors"]] == ["email"]
    assert report["counts"]["settled_outside"] == 0
    inv = _invoices(tenant)[victim["invoice_number"]]
    assert inv.status in ("open", "part_paid") and int(inv.balance_minor) > 0
